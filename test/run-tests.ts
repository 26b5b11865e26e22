// `npm test`: brings up the real servers (Kafka, Redis, Kubernetes control planes, injector double) unless a
// healthy environment is already up, runs every test tier, and stops what it started.
//   npm test                     all tiers
//   npm test -- --project unit   vitest arguments pass through
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const node = process.execPath;
const env = (...args: string[]): { status: number | null } =>
  spawnSync(node, ['test/env/env.ts', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });

const args = process.argv.slice(2);
const unitOnly = args.length >= 2 && args[0] === '--project' && args[1] === 'unit';
let startedHere = false;
if (!unitOnly) {
  if (env('status').status !== 0) {
    console.error('meshwave test: bringing up the test environment (node test/env/env.ts up)…');
    const up = spawnSync(node, ['test/env/env.ts', 'up'], { cwd: root, stdio: 'inherit' });
    if (up.status !== 0) {
      console.error('meshwave test: the test environment did not come up; see the messages above');
      process.exit(up.status ?? 1);
    }
    startedHere = true;
  } else {
    console.error('meshwave test: reusing the healthy test environment');
  }
}
const vitest = spawnSync(node, ['node_modules/vitest/vitest.mjs', 'run', ...args], { cwd: root, stdio: 'inherit' });
if (startedHere && process.env.MESHWAVE_KEEP_ENV !== '1') {
  spawnSync(node, ['test/env/env.ts', 'down'], { cwd: root, stdio: 'inherit' });
}
process.exit(vitest.status ?? 1);
