// `npm start`: the three stations of the opening example, and Expeditor in front of them on :8080.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startStation } from './stations.ts';

const env = process.env;
const port = (name: string, def: number) => Number(env[name] ?? def);
const servers = await Promise.all([
  startStation('desserts', port('DESSERTS_PORT', 3001)),
  startStation('mains', port('MAINS_PORT', 3002)),
  startStation('mains', port('MAINS2_PORT', 3012)),
  startStation('drinks', port('DRINKS_PORT', 3003)),
]);

const bin = fileURLToPath(new URL('../../bin/expeditor.js', import.meta.url));
const config = fileURLToPath(new URL('./expeditor.yaml', import.meta.url));
const gateway = spawn(process.execPath, [bin, 'start', '--config', config], { stdio: 'inherit' });

const stop = () => gateway.kill('SIGTERM');
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
gateway.on('exit', (code) => {
  for (const s of servers) s.close();
  process.exit(code ?? 0);
});
process.stdout.write('stations: desserts :3001, mains :3002 and :3012, drinks :3003. Try: curl -i localhost:8080/menu\n');
