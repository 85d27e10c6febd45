// Shared by the peer gateways: where to listen and where to forward, from the environment
// that bench/proxy.ts sets. Each peer listens on 127.0.0.1 only.

export interface PeerConfig {
  port: number;
  upstream: string;
}

export function peerConfig(): PeerConfig {
  const port = Number(process.env.BENCH_PORT);
  const upstream = process.env.BENCH_UPSTREAM ?? '';
  if (!Number.isInteger(port) || port <= 0 || !upstream.startsWith('http://')) {
    console.error('usage: BENCH_PORT=<port> BENCH_UPSTREAM=http://127.0.0.1:<port> node bench/peers/<peer>.ts');
    process.exit(2);
  }
  // Exit promptly when the harness stops us.
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => process.exit(0));
  return { port, upstream };
}
