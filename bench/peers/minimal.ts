// Reference, not a peer: the smallest useful Node proxy (node:http + undici Pool.stream(), ~20 lines, no path
// normalisation, no hygiene checks, no forwarding headers, no plugins). It shows the ceiling of node:http + undici
// on this machine, against which Expeditor's own overhead is measured.

import http from 'node:http';
import { Pool } from 'undici';
import { peerConfig } from './common.ts';

const { port, upstream } = peerConfig();
const pool = new Pool(upstream, { connections: 128 });

http.createServer((req, res) => {
  pool.stream(
    { path: req.url ?? '/', method: req.method as 'GET', headers: req.headers as Record<string, string>, body: req.method === 'GET' || req.method === 'HEAD' ? null : req },
    ({ statusCode, headers }) => {
      delete headers.connection;
      delete headers['keep-alive'];
      delete headers['transfer-encoding'];
      res.writeHead(statusCode, headers as http.OutgoingHttpHeaders);
      return res;
    },
    (err) => {
      if (err && !res.headersSent) {
        res.statusCode = 502;
        res.end();
      }
    },
  );
}).listen(port, '127.0.0.1', () => console.log(`minimal proxy listening on 127.0.0.1:${port} -> ${upstream}`));
