// Peer: `@fastify/http-proxy` on fastify, with the package defaults (undici pool to the
// upstream, which keeps connections alive).

import Fastify from 'fastify';
import fastifyHttpProxy from '@fastify/http-proxy';
import { peerConfig } from './common.ts';

const { port, upstream } = peerConfig();

const app = Fastify({ logger: false });
await app.register(fastifyHttpProxy, { upstream });
await app.listen({ port, host: '127.0.0.1' });
console.log(`@fastify/http-proxy listening on 127.0.0.1:${port} -> ${upstream}`);
