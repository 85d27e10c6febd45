// nginx configurations for the benchmark: the fixed upstream, and nginx as a reverse proxy.
// Both run one worker, log nothing per request, and keep every path (pid, logs, temp dirs)
// inside their own temp dir. Keep-alive request limits are raised so that neither wrk's
// connections nor the proxy's upstream connections are recycled during a run.

import path from 'node:path';

/** The upstream's reply: a small static JSON document (~100 bytes). */
export const UPSTREAM_BODY = JSON.stringify({
  id: 42,
  name: 'expeditor-bench',
  tags: ['gateway', 'proxy', 'benchmark'],
  price: 12.5,
  ok: true,
});

function common(dir: string): string {
  const p = (name: string): string => path.join(dir, name);
  return `worker_processes 1;
pid ${p('nginx.pid')};
error_log ${p('error.log')} warn;
events { worker_connections 8192; }
`;
}

function httpCommon(dir: string): string {
  const p = (name: string): string => path.join(dir, name);
  return `  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  client_body_temp_path ${p('client_body')};
  proxy_temp_path ${p('proxy')};
  fastcgi_temp_path ${p('fastcgi')};
  uwsgi_temp_path ${p('uwsgi')};
  scgi_temp_path ${p('scgi')};
`;
}

export function upstreamConf(dir: string, port: number): string {
  if (/['$\\]/.test(UPSTREAM_BODY)) throw new Error('UPSTREAM_BODY must not contain quotes, $ or backslashes');
  return `${common(dir)}http {
${httpCommon(dir)}  server {
    listen 127.0.0.1:${port};
    location / {
      default_type application/json;
      return 200 '${UPSTREAM_BODY}';
    }
  }
}
`;
}

/** A whole config: one worker, the common http settings, and the given http-level blocks (servers, upstreams). */
export function nginxConf(dir: string, httpBlocks: string): string {
  return `${common(dir)}http {
${httpCommon(dir)}${httpBlocks}}
`;
}

export function proxyConf(dir: string, port: number, upstreamPort: number): string {
  return `${common(dir)}http {
${httpCommon(dir)}  upstream bench {
    server 127.0.0.1:${upstreamPort};
    keepalive 256;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://bench;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

/** argv for `nginx` with a config file and a prefix dir, in the foreground. */
export function nginxArgs(dir: string, confFile: string): string[] {
  return ['-c', confFile, '-p', dir + path.sep, '-e', path.join(dir, 'error.log'), '-g', 'daemon off;'];
}
