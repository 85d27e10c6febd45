import type { GatewayRequest } from '../core/context.ts';
import type { ErrorCode } from '../core/errors.ts';
import { problem, type Reply } from '../core/reply.ts';
import type { RequestLimits } from '../runtime/build.ts';

const CLOSE: Readonly<Record<string, string>> = { connection: 'close' };

/**
 * HTTP/1.1 connections that have been answered with `Connection: close`. Node keeps parsing whatever the client
 * pipelined behind that answer and emits it as new requests; checkRequest refuses those instead of letting them be
 * forwarded on a connection that is about to close.
 */
const closing = new WeakSet<object>();

/**
 * Marks the request's connection as closing and returns the headers that say so, or undefined over HTTP/2 (where
 * a refused stream leaves the connection usable and a Connection header is not allowed). Use it for every reply
 * after which the connection must not carry another request (refused framing, a body left unread).
 */
export function closeConnection(req: GatewayRequest, res?: { socket?: unknown }): Readonly<Record<string, string>> | undefined {
  // A request stream destroyed mid-body (a refused upload) has let go of its socket; the response still holds it.
  const socket = (req.socket ?? res?.socket) as object | null | undefined;
  if (req.httpVersionMajor !== 1 || socket == null) return undefined;
  closing.add(socket);
  return CLOSE;
}

function refuse(req: GatewayRequest, code: ErrorCode, detail: string): Reply {
  return problem(code, detail, closeConnection(req));
}

/**
 * Edge hygiene checks on a parsed request, before anything else looks at it. Node's parser (strict mode; the
 * insecure parser is never enabled) already refuses most malformed framing; these checks refuse what it lets
 * through and what a proxy must not pass on: ambiguous framing, a missing or duplicate Host, a duplicate
 * Authorization, too many headers (Node would silently drop the excess), and request-targets the gateway does not
 * serve. Each refusal is a problem+json reply that closes an HTTP/1.1 connection (RFC 9112 §6.3 requires it for
 * framing errors, `request_smuggling`; for the rest it keeps a hostile client from reusing the connection).
 */
export function checkRequest(req: GatewayRequest, url: string, limits: RequestLimits): Reply | undefined {
  if (req.socket != null && closing.has(req.socket)) return refuse(req, 'bad_request', 'request pipelined behind an answer that closes the connection');
  if (url.length > limits.maxUrlBytes) return refuse(req, 'uri_too_long', `request target longer than ${limits.maxUrlBytes} bytes`);
  const raw = req.rawHeaders;
  if (raw.length > limits.maxHeaders * 2) return refuse(req, 'headers_too_large', `more than ${limits.maxHeaders} header fields`);
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
  if (lengths > 1) return refuse(req, 'request_smuggling', 'more than one Content-Length');
  if (encodings > 0) {
    if (lengths > 0) return refuse(req, 'request_smuggling', 'both Content-Length and Transfer-Encoding');
    if (encodings > 1 || te.trim().toLowerCase() !== 'chunked') return refuse(req, 'request_smuggling', 'Transfer-Encoding other than "chunked"');
    // RFC 9112 §6.1: an HTTP/1.0 recipient may ignore Transfer-Encoding, so the framing is faulty by definition.
    if (req.httpVersionMajor === 1 && req.httpVersionMinor === 0) return refuse(req, 'request_smuggling', 'Transfer-Encoding in an HTTP/1.0 request');
  }
  if (hosts > 1) return refuse(req, 'bad_request', 'more than one Host header');
  // RFC 9112 §3.2. Checked here rather than by Node (requireHostHeader), whose answer is an empty 400.
  if (hosts === 0 && req.httpVersionMajor === 1 && req.httpVersionMinor === 1) return refuse(req, 'bad_request', 'missing Host header');
  if (auths > 1) return refuse(req, 'bad_request', 'more than one Authorization header');
  if (url.charCodeAt(0) !== 47 /* / */) {
    return refuse(req, 'bad_request', url === '*' ? 'asterisk-form request target not served' : 'absolute-form request target not served by the proxy');
  }
  return undefined;
}

/** The IPv4 form of an IPv4-mapped IPv6 address, so one rule covers both. */
export function normalizeIp(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
