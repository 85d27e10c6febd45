import type { StoredHeaders } from './entry.ts';

/** Path extensions of static files and the media types a response to them must have. */
const EXPECTED: Record<string, readonly string[]> = {
  css: ['text/css'],
  js: ['text/javascript', 'application/javascript', 'application/x-javascript'],
  mjs: ['text/javascript', 'application/javascript'],
  json: ['application/json'],
  png: ['image/png'], jpg: ['image/jpeg'], jpeg: ['image/jpeg'], gif: ['image/gif'], webp: ['image/webp'],
  avif: ['image/avif'], svg: ['image/svg+xml'], ico: ['image/x-icon', 'image/vnd.microsoft.icon'],
  woff: ['font/woff', 'application/font-woff'], woff2: ['font/woff2'], ttf: ['font/ttf', 'application/x-font-ttf'],
  txt: ['text/plain'], xml: ['application/xml', 'text/xml'], pdf: ['application/pdf'], wasm: ['application/wasm'],
  mp4: ['video/mp4'], webm: ['video/webm'], mp3: ['audio/mpeg'],
};

/**
 * Web cache deception (`/account/profile.css`): an origin that ignores the path's tail answers a private page to a
 * URL that looks static. A response is deceptive when the last path segment has a static-file extension and the
 * response's Content-Type is not one that extension stands for. The policy refuses to store such a response on
 * the strength of heuristics or `defaultTtl`; an origin that marks it cacheable explicitly is believed.
 */
export function deceptive(path: string, headers: StoredHeaders): boolean {
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  if (dot <= slash) return false;
  const expected = EXPECTED[path.slice(dot + 1).toLowerCase()];
  if (expected === undefined) return false;
  const ct = headers['content-type'];
  const type = (Array.isArray(ct) ? ct[0] : ct)?.split(';')[0]!.trim().toLowerCase();
  return type === undefined || !expected.includes(type);
}
