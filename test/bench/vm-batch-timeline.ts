// Benchmark: where a VM batch's time goes. One group of N simulated hosts (the real vm-bridge and vm-agent logic in
// one process, in-process transport, simulated proxies that become ready `--restart-ms` after a restart: the shape of
// the embedded fleet's VM part) rolls with `--max-unavailable`; every batch's timeline is read back from the
// bridge's and the agents' own log lines: batch started (decided) -> hosts told (first and last `upgrading`) ->
// proxies restarted (last `checking` report) -> ready (last `upgraded; proxy ready`) -> last idle report sent ->
// batch judged done (`batch succeeded`). Prints per batch and the median of each step, the rollout's time and its
// bound (batches x restart time, the fleet bench's VM term), and the process's CPU time meanwhile. Stops by itself.
//   node_modules/.bin/node test/bench/vm-batch-timeline.ts [--hosts 1000] [--max-unavailable 100] [--restart-ms 400]
// Needs a build (`npx tsc -b`).
import { parseArgs } from 'node:util';
import { Writable } from 'node:stream';
import { createLogger } from '@meshwave/telemetry';
import { createSimulatedVmFleet } from '@meshwave/cli';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '1000' },
    'max-unavailable': { type: 'string', default: '100' },
    'restart-ms': { type: 'string', default: '400' },
  },
});
const hosts = Number(values.hosts);
const maxUnavailable = Number(values['max-unavailable']);
const restartMs = Number(values['restart-ms']);

interface Line {
  readonly msg: string;
  readonly t: number;
  readonly host?: string;
  readonly batch?: number;
  readonly hosts?: readonly string[];
  readonly report?: { readonly phase: string };
}
const lines: Line[] = [];
const WANTED = new Set(['batch started', 'batch succeeded', 'batch failed; reverted', 'upgrading', 'report']);
const WANTED_TOO = 'upgraded; proxy ready';
const sink = new Writable({
  write(chunk: Buffer, _enc, done): void {
    for (const text of chunk.toString('utf8').split('\n')) {
      if (text.length === 0) continue;
      const l = JSON.parse(text) as { msg: string; time: string; at?: number } & Omit<Line, 't' | 'msg'>;
      if (!WANTED.has(l.msg) && l.msg !== WANTED_TOO) continue;
      if (l.msg === 'report' && l.report?.phase !== 'checking' && l.report?.phase !== 'idle') continue;
      lines.push({ ...l, t: l.at ?? Date.parse(l.time) });
    }
    done();
  },
});
const logger = createLogger({ service: 'vm-timeline', destination: sink, level: 'info' });

const fleet = await createSimulatedVmFleet({
  groups: [{ name: 'bench', hosts, initialVersion: '1-24-5' }],
  versions: ['1-25-2'],
  proxyStartMs: restartMs,
  logger,
});
const deadline = setTimeout(() => {
  console.error('vm-batch-timeline: did not finish within 10 minutes');
  process.exit(1);
}, 600_000);

async function rolled(): Promise<boolean> {
  const { group, hosts: records } = await fleet.bridge.snapshot('bench');
  return group.batch === undefined && records.every((h) => h.previousVersion === '1-25-2');
}

const start = Date.now();
const cpuBefore = process.cpuUsage();
await fleet.bridge.applyCommand({
  rolloutId: 'bench',
  wave: 0,
  generation: 1,
  epoch: 1,
  group: 'bench',
  from: '1-24-5',
  to: '1-25-2',
  maxUnavailable,
  halted: false,
  hosts: fleet.hosts.map((h) => ({ name: h.name, version: '1-25-2' })),
});
while (!(await rolled())) await new Promise((r) => setTimeout(r, 20));
const elapsedMs = Date.now() - start;
const cpu = process.cpuUsage(cpuBefore);
clearTimeout(deadline);
await fleet.close();

/** per batch: ms after its start of each step (the last host's, unless said) */
interface BatchTimeline {
  readonly batch: number;
  readonly hosts: number;
  readonly firstTold: number;
  readonly lastTold: number;
  readonly lastRestarted: number;
  readonly lastReady: number;
  readonly lastIdleReport: number;
  readonly judged: number;
  /** from the previous batch's judgement to this one's start */
  readonly gapBefore: number;
}

const timelines: BatchTimeline[] = [];
let previousJudged: number | undefined;
for (const started of lines.filter((l) => l.msg === 'batch started')) {
  const members = new Set(started.hosts ?? []);
  const ended = lines.find((l) => l.msg !== 'batch started' && l.msg.startsWith('batch') && l.batch === started.batch);
  const of = (pred: (l: Line) => boolean): number[] =>
    lines.filter((l) => l.host !== undefined && members.has(l.host) && l.t >= started.t && pred(l)).map((l) => l.t);
  const told = of((l) => l.msg === 'upgrading');
  const restarted = of((l) => l.msg === 'report' && l.report?.phase === 'checking');
  const ready = of((l) => l.msg === WANTED_TOO);
  // the idle reports up to the judgement (later ones are the hosts' heartbeats)
  const idle = of((l) => l.msg === 'report' && l.report?.phase === 'idle' && (ended === undefined || l.t <= ended.t));
  const rel = (ts: number[], pick: (xs: number[]) => number): number => (ts.length > 0 ? pick(ts) - started.t : NaN);
  const max = (xs: number[]): number => Math.max(...xs);
  const min = (xs: number[]): number => Math.min(...xs);
  timelines.push({
    batch: started.batch ?? 0,
    hosts: members.size,
    firstTold: rel(told, min),
    lastTold: rel(told, max),
    lastRestarted: rel(restarted, max),
    lastReady: rel(ready, max),
    lastIdleReport: rel(idle, max),
    judged: ended !== undefined ? ended.t - started.t : NaN,
    gapBefore: previousJudged !== undefined ? started.t - previousJudged : NaN,
  });
  if (ended !== undefined) previousJudged = ended.t;
}
const median = (xs: number[]): number => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length > 0 ? s[Math.floor(s.length / 2)]! : NaN;
};
const keys = ['firstTold', 'lastTold', 'lastRestarted', 'lastReady', 'lastIdleReport', 'judged', 'gapBefore'] as const;
for (const t of timelines) console.log(JSON.stringify(t));
console.log(
  JSON.stringify(
    {
      bench: 'vm batch timeline',
      hosts,
      maxUnavailable,
      restartMs,
      batches: timelines.length,
      elapsedMs,
      /** the whole process's CPU during the rollout (bridge, agents, simulated proxies), user + system */
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      boundMs: timelines.length * restartMs,
      ratio: Number((elapsedMs / (timelines.length * restartMs)).toFixed(2)),
      medianMsAfterBatchStart: Object.fromEntries(keys.map((k) => [k, median(timelines.map((t) => t[k]))])),
    },
    null,
    2,
  ),
);
