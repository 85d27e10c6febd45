import type { GatewayRequest } from '../core/context.ts';
import { problem, type Reply } from '../core/reply.ts';
import type { RequestLimits } from '../runtime/build.ts';

/**
 * Edge hygiene checks on a parsed request, before anything else looks at it. Node's parser (strict mode; the
 * insecure parser is never enabled) already refuses most malformed framing; these checks refuse what it lets
 * through and what a proxy must not pass on: ambiguous framing, duplicate identity headers, too many headers
 * (Node would silently drop the excess), and request-targets the gateway does not serve.
 */
export function checkRequest(req: GatewayRequest, url: string, limits: RequestLimits): Reply | undefined {
  if (url.length > limits.maxUrlBytes) return problem('uri_too_long', `request target longer than ${limits.maxUrlBytes} bytes`);
  const raw = req.rawHeaders;
  if (raw.length > limits.maxHeaders * 2) return problem('headers_too_large', `more than ${limits.maxHeaders} header fields`);
  let hosts = 0;
  let auths = 0;
  let lengths = 0;
  let encodings = 0;
  let te = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') hosts++;
        break;
      case 13:
        if (name.toLowerCase() === 'authorization') auths++;
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') lengths++;
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') {
          encodings++;
          te = raw[i + 1]!;
        }
        break;
    }
  }
  if (lengths > 1) return problem('request_smuggling', 'more than one Content-Length');
  if (encodings > 0) {
    if (lengths > 0) return problem('request_smuggling', 'both Content-Length and Transfer-Encoding');
    if (encodings > 1 || te.trim().toLowerCase() !== 'chunked') return problem('request_smuggling', 'Transfer-Encoding other than "chunked"');
  }
  if (hosts > 1) return problem('bad_request', 'more than one Host header');
  if (auths > 1) return problem('bad_request', 'more than one Authorization header');
  if (url.charCodeAt(0) !== 47 /* / */) {
    return problem('bad_request', url === '*' ? 'asterisk-form request target not served' : 'absolute-form request target not served by the proxy');
  }
  return undefined;
}

/** The IPv4 form of an IPv4-mapped IPv6 address, so one rule covers both. */
export function normalizeIp(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
