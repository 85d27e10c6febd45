// Peer: `http-proxy` on a plain node:http server, with a keep-alive agent to the upstream
// (without one, http-proxy opens a new upstream connection per request).

import http from 'node:http';
import httpProxy from 'http-proxy';
import { peerConfig } from './common.ts';

const { port, upstream } = peerConfig();

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024 });
const proxy = httpProxy.createProxyServer({ target: upstream, agent });
proxy.on('error', (err, _req, res) => {
  if (res instanceof http.ServerResponse) {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`bad gateway: ${err.message}`);
  } else {
    res.destroy();
  }
});

const server = http.createServer((req, res) => proxy.web(req, res));
server.listen(port, '127.0.0.1', () => console.log(`http-proxy listening on 127.0.0.1:${port} -> ${upstream}`));
