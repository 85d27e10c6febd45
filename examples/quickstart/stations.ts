import http from 'node:http';

/**
 * A kitchen station: answers every order with what it cooked, which cook (port) did it, and what path and
 * headers reached it, so the effect of the gateway's routing and rewriting is visible.
 */
export function startStation(station: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    let size = 0;
    req.on('data', (c: Buffer) => (size += c.length));
    req.on('end', () => {
      if (station === 'drinks' && req.url?.startsWith('/slow')) {
        // The bartender is swamped: never answers, so the gateway's 2 s timeout shows.
        return;
      }
      const body = JSON.stringify({
        station,
        cook: port,
        order: decodeURIComponent(req.url ?? '/'),
        method: req.method,
        requestId: req.headers['x-request-id'],
        forwardedFor: req.headers['x-forwarded-for'],
        // Set by the gateway once it has authenticated the caller; a client can never send it itself.
        consumer: req.headers['x-consumer-username'],
        bodyBytes: size,
      }) + '\n';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
