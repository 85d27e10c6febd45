import net from 'node:net';

/**
 * Sends raw bytes on a fresh TCP connection and resolves with everything the server sent back until it closed the
 * connection or `idleMs` passed without data. For requests no HTTP client would send.
 */
export function rawRequest(url: string, data: string | Buffer, idleMs = 1000): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout;
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(done, idleMs);
    };
    socket.on('connect', () => {
      socket.write(data);
      arm();
    });
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      arm();
    });
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', (err) => (chunks.length > 0 ? done() : reject(err)));
  });
}

/** Status code of the first response in a raw HTTP/1.1 exchange. */
export function statusOf(raw: string): number {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(raw);
  return m ? Number(m[1]) : 0;
}

/** Parsed JSON body of the first response (assumes Content-Length framing). */
export function jsonBodyOf(raw: string): Record<string, unknown> {
  const start = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, start);
  const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? '0');
  return JSON.parse(raw.slice(start + 4, start + 4 + len)) as Record<string, unknown>;
}
