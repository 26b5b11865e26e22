// Benchmark (issue 15): the example rollout (examples/rollouts.yml with the demo's 3 s soaks, metric gates on)
// through production code on generated fleets, against the bound computed from the plan the planner returned.
//   (a) 10 clusters x 1,000 workloads + 1,000 VM hosts; (b) 50 x 2,000 + 10,000 VM hosts
// Mode "embedded": `meshwave demo --fleet F --exit-when-done --json` (planner, agents, vm-bridge in one process)
// as a child process. Mode "process": the planner's own process on the test env's Kafka and Redis and a Prometheus
// of the run's own (fleet/bench-prometheus.ts, ADR 0065), agents and vm-bridge in a second process
// (fleet/process-run.ts); CPU, RSS and loop delay are the planner's.
// Every run stops by itself: killed at min(15 min, plan + 3x a generous bound).
//   node_modules/.bin/node test/bench/fleet.ts [a] [b] [s] [--mode embedded|process|both] [--cpu-prof-dir DIR]
//     [--heap-snapshot-after SECONDS] [--sim-processes N] [--memory-log] [--bound-only] [--keep-logs]
//   (s: a small fleet to check the bench; --cpu-prof-dir profiles the embedded process, or in process mode the
//   planner and the simulator; --heap-snapshot-after: process mode, one heap snapshot of the planner that many
//   seconds after the rollout is applied, into the --cpu-prof-dir; --sim-processes: process mode, how many
//   simulator processes play the clusters, default one per core and 2 at least; the vm-bridge runs in one more)
//   npm run bench -- fleet              (both fleets, both modes; MESHWAVE_BENCH_FLEETS=a, MESHWAVE_BENCH_FLEET_MODE=embedded)
// Needs a build (`npx tsc -b`; `npm run bench` builds first).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchFleetConfig, FLEETS, processModeConfig, scrapeIntervalOf, writeFleetFile } from './fleet/fleet-files.ts';
import { fleetBound, formatBound, type FleetBound } from './fleet/fleet-bound.ts';
import { formatProgress, runEmbedded, type EmbeddedRun } from './fleet/embedded-run.ts';
import { runProcess } from './fleet/process-run.ts';
import { fleetPlan } from './fleet/fleet-plan.ts';
import { formatTimeline, waveTimeline } from './fleet/wave-timeline.ts';
import type { Plan } from '@meshwave/contracts';

/** no run takes longer than this, whatever its bound */
const HARD_LIMIT_SECONDS = 15 * 60;
/** goal of issue 15 */
const GOAL_RATIO = 1.5;

const USAGE = `usage: node_modules/.bin/node test/bench/fleet.ts [a] [b] [s] [--mode embedded|process|both]
    [--cpu-prof-dir DIR] [--heap-snapshot-after SECONDS] [--sim-processes N] [--memory-log] [--bound-only]
    [--keep-logs]
  fleets: a = 10 clusters x 1,000 workloads + 1,000 VM hosts; b = 50 x 2,000 + 10,000; s = a small one
  (default: a and b, or MESHWAVE_BENCH_FLEETS=a,b; mode default both, or MESHWAVE_BENCH_FLEET_MODE)
  --cpu-prof-dir DIR         CPU profiles: the embedded process, or in process mode the planner and the simulators
  --heap-snapshot-after S    process mode: one heap snapshot of the planner S seconds after the rollout is applied
  --sim-processes N          process mode: simulator processes for the clusters (default one per core, 2 at least)
  --memory-log               process mode: the planner's memoryUsage() and V8 heap spaces every 250 ms, sampled
                             inside it, into planner-memory.log in its log directory
  --bound-only               print the bound of the bench's own plan and stop
  --keep-logs                keep the run's directory (fleet files, each process's whole output) even when it went well
Needs a build (npx tsc -b). Exits 1 when a fleet does not complete, halts, fails a unit, restarts more
workloads of a cluster at once than the plan's maxUnavailable there (counted on the simulated apiservers), or
judges the rollout's deadline (an hour away) at risk and raises its concurrency.`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'cpu-prof-dir': { type: 'string' },
    'heap-snapshot-after': { type: 'string' },
    'bound-only': { type: 'boolean', default: false },
    'keep-logs': { type: 'boolean', default: false },
    'sim-processes': { type: 'string' },
    'memory-log': { type: 'boolean', default: false },
    mode: { type: 'string', default: process.env.MESHWAVE_BENCH_FLEET_MODE ?? 'both' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const MODES: Readonly<Record<string, readonly Mode[]>> = {
  embedded: ['embedded'],
  process: ['process'],
  both: ['embedded', 'process'],
};
type Mode = 'embedded' | 'process';
const modes = MODES[values.mode];
if (modes === undefined) throw new Error(`unknown mode ${values.mode}: one of ${Object.keys(MODES).join(', ')}`);
const chosen = positionals.length > 0 ? positionals : (process.env.MESHWAVE_BENCH_FLEETS ?? 'a,b').split(',');
const unknown = chosen.filter((f) => FLEETS[f] === undefined);
if (unknown.length > 0)
  throw new Error(`unknown fleet ${unknown.join(', ')}: one of ${Object.keys(FLEETS).join(', ')}`);

const dir = mkdtempSync(join(tmpdir(), 'meshwave-fleet-bench-'));
const rows: string[][] = [];
/** a run that did not complete, or halted or failed a unit in this fleet where nothing is wrong */
let wrong = 0;
try {
  for (const name of chosen) {
    const size = FLEETS[name]!;
    const config = benchFleetConfig(size);
    const fleetFile = writeFleetFile(dir, config, name);
    // the bound of the plan computed here sets the deadline and stands in if the planner never plans
    const expected = fleetBound(fleetPlan(config, new Date()), config);
    console.log(
      `\nfleet ${name}: ${size.clusters} clusters x ${size.workloadsPerCluster} workloads + ${size.vmHosts} VM hosts`,
    );
    console.log(`bound of the bench's own plan (sets the run's deadline):\n${formatBound(expected)}`);
    if (values['bound-only']) continue;
    let completed = true;
    for (const mode of modes) {
      console.log(`fleet ${name}, ${mode} mode:`);
      // process mode: its own Prometheus scrapes a large fleet less often, and its soaks hold two scrapes (ADR 0065)
      const modeConfig = mode === 'process' ? processModeConfig(config) : config;
      const modeExpected = modeConfig === config ? expected : fleetBound(fleetPlan(modeConfig, new Date()), modeConfig);
      if (mode === 'process')
        console.log(
          `  its own Prometheus scrapes every ${scrapeIntervalOf(config)} s; soaks ${modeConfig.timing.soakSeconds} s`,
        );
      let bound: FleetBound = modeExpected;
      const limits = {
        // generous: the bound with the QPS budget, plus a minute
        hardLimitSeconds: Math.min(HARD_LIMIT_SECONDS, 3 * (modeExpected.secondsWithQps + 60) + 300),
        limitAfterPlan: (plan: Plan) => {
          bound = fleetBound(plan, modeConfig);
          return 3 * (bound.secondsWithQps + 60);
        },
        onProgress: (line: string) => console.log(`  ${line}`),
      };
      const run =
        mode === 'embedded'
          ? await runEmbedded({
              fleetFile,
              planFile: join(dir, `plan-${name}.json`),
              ...limits,
              nodeArgs:
                values['cpu-prof-dir'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof-dir']}`],
            })
          : await runProcess({
              fleet: modeConfig,
              fleetFile: modeConfig === config ? fleetFile : writeFleetFile(dir, modeConfig, `${name}-process`),
              scrapeIntervalSeconds: scrapeIntervalOf(config),
              ...limits,
              ...(values['cpu-prof-dir'] === undefined ? {} : { cpuProfDir: values['cpu-prof-dir'] }),
              ...(values['heap-snapshot-after'] === undefined
                ? {}
                : { heapSnapshotAfterSeconds: Number(values['heap-snapshot-after']) }),
              ...(values['sim-processes'] === undefined ? {} : { simProcesses: Number(values['sim-processes']) }),
              memoryLog: values['memory-log'],
              logDir: join(dir, `logs-${name}-${mode}`),
            });
      if (bound !== modeExpected) console.log(`bound of the planner's plan:\n${formatBound(bound)}`);
      else console.log("the planner returned no plan: the bound is the bench's own plan's");
      if (run.status !== undefined)
        console.log(
          `where the time went, from the planner's transitions:\n${formatTimeline(waveTimeline(run.status, bound))}`,
        );
      report(name, mode, run, bound);
      const failed = run.outcome === 'timeout' || run.summary === undefined || run.summary.phase !== 'Completed';
      const over = run.summary?.overMaxUnavailable ?? [];
      if (over.length > 0)
        console.log(
          `  more workloads restarted at once than the plan's maxUnavailable, on the apiserver: ${over
            .map((o) => `${o.cluster} ${o.peak} (plan ${o.planned})`)
            .join(', ')}`,
        );
      // the rollout's deadline is an hour away: a deadline judged at risk here is a false judgement
      const paced = (run.summary?.pacingFactor ?? 1) > 1;
      if (paced)
        console.log(
          `  the deadline was judged at risk: concurrency raised ×${run.summary!.pacingFactor} (nothing is late here)`,
        );
      const halted = (run.summary?.halts ?? 0) > 0 || (run.summary?.failedUnits ?? 0) > 0;
      if (failed || halted || over.length > 0 || paced) wrong++;
      completed &&= !failed;
    }
    // fleet (b) is only worth its 15 minutes once (a) completes
    if (!completed && chosen.length > 1 && name !== chosen.at(-1)) {
      console.log(`fleet ${name} did not complete: the larger fleets are not run`);
      break;
    }
  }
} finally {
  // a run that went wrong keeps its directory: each process's whole output is in it (so does --keep-logs)
  if (wrong === 0 && !values['keep-logs']) rmSync(dir, { recursive: true, force: true });
  else console.log(`\nkept (fleet files, each process's output): ${dir}`);
}

if (rows.length > 0) printTable(rows);
process.exitCode = wrong === 0 ? 0 : 1;

function report(name: string, mode: Mode, run: EmbeddedRun, bound: FleetBound): void {
  const s = run.summary;
  // a run stopped at its deadline has no rollout time: its summary says only how long it ran
  const rolloutSeconds = run.outcome === 'timeout' ? undefined : s?.rolloutSeconds;
  const ratio = rolloutSeconds !== undefined ? rolloutSeconds / bound.seconds : undefined;
  if (run.outcome === 'timeout') {
    console.log(`  did not complete (timeout after ${run.wallSeconds.toFixed(0)} s)`);
    // where it stood: the demo's summary on SIGTERM (ground truth), else its last progress line (the planner's view)
    if (s !== undefined)
      console.log(
        `  stopped in phase ${s.phase}, wave ${s.wave ? `${s.wave.index + 1} ${s.wave.name} (${s.wave.state})` : '-'}: ` +
          `units on target ${s.units.onTarget}/${s.units.total}, VM hosts ${s.vmHosts.onTarget}/${s.vmHosts.total}, ` +
          `failed ${s.failedUnits}, halts ${s.halts}, at ${s.rolloutSeconds} s after the rollout was applied`,
      );
    else console.log(`  ${whereItStood(run)}`);
  } else if (s === undefined)
    console.log(`  exited ${run.exitCode} without a summary:\n${run.stderr.trim().split('\n').slice(-5).join('\n')}`);
  if ((run.outcome === 'timeout' || s === undefined) && run.logDir !== undefined)
    console.log(`  each process's whole output: ${run.logDir}`);
  rows.push([
    name,
    mode,
    bound.seconds.toFixed(1),
    run.outcome === 'timeout'
      ? `did not complete (timeout${s?.wave ? `, ${s.phase} in wave ${s.wave.index + 1}` : ''})`
      : (s?.phase ?? `exit ${run.exitCode}: ${lastError(run)}`),
    rolloutSeconds !== undefined ? rolloutSeconds.toFixed(1) : s ? `> ${s.rolloutSeconds.toFixed(1)}` : '-',
    ratio !== undefined ? `${ratio.toFixed(2)}x${ratio <= GOAL_RATIO ? '' : ' (goal <= 1.5x)'}` : '-',
    run.planSeconds !== undefined ? run.planSeconds.toFixed(1) : '-',
    run.wallSeconds.toFixed(1),
    run.cpuSeconds.toFixed(1),
    (run.cpuSeconds / run.wallSeconds).toFixed(2),
    run.peakRssMb.toFixed(0),
    s
      ? `${s.process.loopDelayP99Ms} / ${s.process.loopDelayMaxMs}`
      : run.loopDelay
        ? `${run.loopDelay.p99Ms} / ${run.loopDelay.maxMs}`
        : '-',
    s ? String(s.halts) : '-',
    s ? `${s.failedUnits} (+${s.excluded} excluded, ${s.failbacks} failbacks)` : '-',
    s ? `${s.units.onTarget}/${s.units.total}, ${s.vmHosts.onTarget}/${s.vmHosts.total}` : '-',
  ]);
}

/**
 * How far a run without a summary got: the demo's last progress line (embedded), else the last status the bench
 * read itself (process mode), else whether the planner returned a plan at all.
 */
function whereItStood(run: EmbeddedRun): string {
  if (run.progress !== undefined) return `last progress: ${formatProgress(run.progress)}`;
  const st = run.status;
  if (st !== undefined) {
    const wave = st.waveStatuses[st.wave];
    const u = wave?.units;
    const h = wave?.vmHosts;
    return (
      `last status read: phase ${st.phase}, wave ${st.wave + 1}/${st.waves}${wave ? ` ${wave.name} (${wave.state})` : ''}` +
      (u ? `: units ${u.converged} converged, ${u.moving} moving, ${u.pending} pending, ${u.failed} failed` : '') +
      (h && h.pending + h.upgrading + h.converged + h.failed > 0
        ? `; VM hosts ${h.converged} converged, ${h.upgrading} upgrading, ${h.pending} pending, ${h.failed} failed`
        : '')
    );
  }
  if (run.plan !== undefined) return 'the rollout was applied, but no status of it was read';
  return 'the rollout was never applied (no plan came back), or the demo printed no progress line';
}

/** the child's last error line, shortened for the table */
function lastError(run: EmbeddedRun): string {
  const line = run.stderr.trim().split('\n').pop() ?? '';
  return line.length > 60 ? `${line.slice(0, 57)}...` : line;
}

function printTable(table: string[][]): void {
  const header = [
    'fleet',
    'mode',
    'bound s',
    'phase',
    'rollout s',
    'time/bound',
    'plan at s',
    'wall s',
    'CPU s',
    'cores avg',
    'peak RSS MB',
    'loop p99/max ms',
    'halts',
    'failed units',
    'on target (units, hosts)',
  ];
  const all = [header, ...table];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  console.log('');
  for (const r of all) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join(' | '));
  console.log(
    '\nrollout s: from applying the rollout to its end; plan at s: from start to the plan (start-up, first inventory);' +
      ' embedded: CPU, RSS and loop delay (p99 over the run / max) of the whole fleet in one process (planner, agents,' +
      ' vm-bridge, simulators); process: CPU and peak RSS of the planner process only (/proc), loop delay from its' +
      ' meshwave_event_loop_delay_seconds (p99 of each 5 s window: median window / worst window)',
  );
}
