import type { Command } from 'commander';
import { ConfigError } from '../config/errors.ts';
import { parseConfigText } from '../config/load.ts';
import { DEFAULT_CONFIG, Refusal, readText } from './yaml-edit.ts';

/** Options of every command that talks to a running gateway's admin API. */
export interface AdminOptions { config: string; admin?: string; token?: string }

/** Adds --config, --admin and --token, as every admin-API command takes them. */
export function withAdminOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'config file, to find the admin API (admin.host, admin.port, admin.token)', DEFAULT_CONFIG)
    .option('--admin <url>', 'admin API URL (default: $EXPEDITOR_ADMIN_URL, else from the config file)')
    .option('--token <token>', 'admin API token (default: $EXPEDITOR_ADMIN_TOKEN, else admin.token from the config file)');
}

/** The admin API's URL and token: the options, else the environment, else the config file's `admin` section. */
async function adminTarget(opts: AdminOptions): Promise<{ url: string; token: string | undefined }> {
  let url = opts.admin ?? process.env.EXPEDITOR_ADMIN_URL;
  let token = opts.token ?? process.env.EXPEDITOR_ADMIN_TOKEN;
  if (url === undefined || token === undefined) {
    let admin: { host?: unknown; port?: unknown; token?: unknown } | undefined;
    try {
      admin = (parseConfigText(await readText(opts.config), opts.config).value as { admin?: typeof admin } | null)?.admin;
    } catch (err) {
      if (!(err instanceof ConfigError || err instanceof Refusal)) throw err;
      // With --admin given, the file only might have had the token.
      if (url === undefined) throw new Refusal(`cannot find the admin API in ${opts.config} (${err instanceof Refusal ? err.message : err.issues[0]?.message}): pass --admin`);
    }
    if (url === undefined) {
      const host = typeof admin?.host === 'string' && admin.host !== '0.0.0.0' && admin.host !== '::' ? admin.host : '127.0.0.1';
      url = `http://${host.includes(':') ? `[${host}]` : host}:${typeof admin?.port === 'number' ? admin.port : 8081}`;
    }
    if (token === undefined && typeof admin?.token === 'string') token = admin.token;
  }
  return { url: url.replace(/\/+$/, ''), token };
}

/** One admin API call; resolves to its JSON answer, or throws Refusal with the API's problem detail. */
export async function adminRequest(opts: AdminOptions, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const { url, token } = await adminTarget(opts);
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`${url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  } catch (err) {
    throw new Refusal(`cannot reach the admin API at ${url}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
  }
  const answer = await res.json().catch(() => ({})) as Record<string, unknown>;
  if (!res.ok) throw new Refusal(`${url}: ${res.status} ${String(answer.detail ?? answer.title ?? '')}`.trim());
  return answer;
}
