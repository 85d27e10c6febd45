import type { RequestContext } from '../core/context.ts';
import { GatewayError } from '../core/errors.ts';

const kBuffered = Symbol('expeditor.bufferedBody');

/**
 * Reads the whole request body (for methods that must hash it: signatures, digests) up to the route's body limit,
 * and arranges for the same bytes to be forwarded upstream. Reading twice returns the same buffer. Throws
 * GatewayError `payload_too_large` past the limit.
 */
export async function readBody(ctx: RequestContext): Promise<Buffer> {
  const holder = ctx as RequestContext & { [kBuffered]?: Promise<Buffer> };
  return (holder[kBuffered] ??= read(ctx));
}

async function read(ctx: RequestContext): Promise<Buffer> {
  const max = ctx.route?.maxBodyBytes ?? Number.MAX_SAFE_INTEGER;
  ctx.sendContinue?.();
  const source = ctx.body ?? (ctx.req as AsyncIterable<Buffer>);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of source) {
    total += chunk.length;
    if (total > max) throw new GatewayError('payload_too_large', `body larger than ${max} bytes`);
    chunks.push(chunk);
  }
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  ctx.body = replay(body);
  return body;
}

async function* replay(body: Buffer): AsyncGenerator<Buffer> {
  if (body.length > 0) yield body;
}
