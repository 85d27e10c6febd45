import { Command, Option } from 'commander';
import { guarded, Refusal } from './yaml-edit.ts';
import { adminRequest, withAdminOptions, type AdminOptions } from './admin-client.ts';

interface PurgeOptions extends AdminOptions { key?: string; prefix?: string; tag?: string; json?: boolean }

const purge = withAdminOptions(new Command('purge'))
  .description('Remove stored responses from a running gateway\'s response cache (memory and Redis), through its admin API.')
  .addOption(new Option('--key <key>', 'one cache key, with all its Vary variants (the `key` Cache-Status shows with `detail`, or see docs/caching.md)'))
  .addOption(new Option('--prefix <path>', 'every key whose path starts with this prefix, e.g. /menu/'))
  .addOption(new Option('--tag <tag>', 'every response tagged with this surrogate key (Surrogate-Key / Cache-Tag)'))
  .option('--json', 'print the admin API\'s JSON answer')
  .addHelpText('after', `
Examples:
  $ expeditor cache purge --tag menu
  purged 12 stored responses (memory 12)
  $ expeditor cache purge --prefix /menu/ --admin http://10.0.0.5:8081 --token "$ADMIN_TOKEN"`)
  .action(guarded('cache', async (opts: PurgeOptions) => {
    const given = (['key', 'prefix', 'tag'] as const).filter((k) => opts[k] !== undefined);
    if (given.length !== 1) throw new Refusal('give exactly one of --key, --prefix, --tag');
    const what = given[0]!;
    const answer = await adminRequest(opts, 'POST', '/cache/purge', { [what]: opts[what] });
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
      return;
    }
    const purged = answer.purged as Record<string, number>;
    const total = Object.values(purged).reduce((a, b) => a + b, 0);
    const parts = Object.entries(purged).map(([k, v]) => `${k} ${v}`).join(', ');
    process.stdout.write(`purged ${total} stored response${total === 1 ? '' : 's'}${parts === '' ? '' : ` (${parts})`}\n`);
  }));

export const cacheCommand = new Command('cache')
  .description('The response cache of a running gateway.')
  .addCommand(purge);
