// The top self-time entries of a V8 CPU profile (`node --cpu-prof`), as the fleet benchmark's report lists them.
//   node_modules/.bin/node test/bench/fleet/profile-top.ts FILE.cpuprofile [10]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const [file, count = '10'] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: profile-top.ts FILE.cpuprofile [N]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfMicros = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const frame = byId.get(id)?.callFrame;
  const delta = profile.timeDeltas[i] ?? 0;
  total += delta;
  if (frame === undefined) return;
  // the workspace's own files by their path in the repository, dependencies by package
  const where = frame.url.replace(/^file:\/\/.*?\/(libs|services|node_modules)\//, '$1/');
  const key = `${frame.functionName || '(anonymous)'}  ${where}${where ? `:${frame.lineNumber + 1}` : ''}`;
  selfMicros.set(key, (selfMicros.get(key) ?? 0) + delta);
});
console.log(`total ${(total / 1e6).toFixed(1)} s sampled`);
for (const [key, micros] of [...selfMicros].sort((a, b) => b[1] - a[1]).slice(0, Number(count)))
  console.log(
    `${((100 * micros) / total).toFixed(1).padStart(5)}%  ${(micros / 1e6).toFixed(2).padStart(7)} s  ${key}`,
  );
