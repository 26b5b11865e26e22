// `npm run bench`: every benchmark, one after the other (they compete for the same two cores otherwise).
// Each prints its own figures as ratios against a baseline measured in the same run.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
// `npm run bench -- halt --trials 5`: the names first, then options, passed on to every benchmark run
const args = process.argv.slice(2);
const firstOption = args.findIndex((a) => a.startsWith('-'));
const only = firstOption < 0 ? args : args.slice(0, firstOption);
const options = firstOption < 0 ? [] : args.slice(firstOption);
const benches = [
  'plan.ts',
  'decide.ts',
  'mesh.ts',
  'bus-store.ts',
  'cluster-agent.ts',
  'agent-wave.ts',
  'vm-bridge.ts',
  'vm-bridge-scale.ts',
  'fleet.ts',
  'halt.ts',
].filter((b) => existsSync(here + b) && (only.length === 0 || only.some((o) => b.startsWith(o))));
let failed = 0;
for (const bench of benches) {
  console.log(`\n=== ${bench}`);
  const r = spawnSync(process.execPath, ['--expose-gc', here + bench, ...options], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed === 0 ? 0 : 1;
