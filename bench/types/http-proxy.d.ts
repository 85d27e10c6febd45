// Minimal typings for `http-proxy` 1.x, which ships none; only what bench/peers uses.
declare module 'http-proxy' {
  import type { Agent, IncomingMessage, ServerResponse } from 'node:http';
  import type { Socket } from 'node:net';

  interface ServerOptions {
    target?: string;
    agent?: Agent;
    xfwd?: boolean;
    changeOrigin?: boolean;
    proxyTimeout?: number;
  }

  interface ProxyServer {
    web(req: IncomingMessage, res: ServerResponse, options?: ServerOptions): void;
    on(event: 'error', listener: (err: Error, req: IncomingMessage, res: ServerResponse | Socket) => void): this;
    close(callback?: () => void): void;
  }

  const httpProxy: {
    createProxyServer(options?: ServerOptions): ProxyServer;
  };
  export default httpProxy;
}
