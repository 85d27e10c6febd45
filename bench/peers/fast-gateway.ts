// Peer: `fast-gateway` (restana + fast-proxy-lite, whose node:http agent keeps connections
// alive by default). One route: every path goes to the upstream unchanged.

import gateway from 'fast-gateway';
import { peerConfig } from './common.ts';

const { port, upstream } = peerConfig();

const server = gateway({
  routes: [{ prefix: '', target: upstream }],
});
await server.start(port, '127.0.0.1');
console.log(`fast-gateway listening on 127.0.0.1:${port} -> ${upstream}`);
