// Mode 1 of the fleet benchmark: `meshwave demo` (the embedded fleet, production code) as a child process,
// its CPU and peak RSS sampled from /proc (so a run that never finishes is measured too), killed at a deadline.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Plan, RolloutStatus } from '@meshwave/contracts';
import { PROGRESS_PREFIX, type OverMaxUnavailable } from '@meshwave/cli';

const MAIN = fileURLToPath(new URL('../../../services/cli/dist/main.js', import.meta.url));
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
/**
 * After SIGTERM at the deadline, how long the demo has to summarise where it stood, stop its fleet and exit (and
 * `--cpu-prof` to write its profile) before it is killed: a starved loop sees the signal late.
 */
const STOP_GRACE_SECONDS = 120;

/** One progress line of the demo (`-o json` prints one on stderr every 10 s). */
export interface DemoProgressLine {
  readonly seconds: number;
  readonly phase: string;
  readonly wave?: { readonly index: number; readonly name: string; readonly state: string };
  readonly waves: number;
  readonly units: { readonly total: number; readonly onTarget: number };
  readonly vmHosts: { readonly total: number; readonly onTarget: number };
  readonly failed: number;
}

/** A progress line for people: phase, wave, units and hosts on target. */
export function formatProgress(p: DemoProgressLine): string {
  const wave = p.wave ? `wave ${p.wave.index + 1}/${p.waves} ${p.wave.name} (${p.wave.state})` : 'no wave';
  return (
    `rollout at ${p.seconds} s: ${p.phase}, ${wave}, units on target ${p.units.onTarget}/${p.units.total}, ` +
    `VM hosts ${p.vmHosts.onTarget}/${p.vmHosts.total}, failed ${p.failed}`
  );
}

/** The demo's `--output json` summary, as far as the benchmark reads it. */
export interface DemoSummaryLine {
  readonly phase: string;
  readonly wave?: { readonly index: number; readonly name: string; readonly state: string };
  /** present when the demo was stopped by the benchmark's deadline (SIGTERM) before the rollout ended */
  readonly stoppedBy?: string;
  readonly units: { readonly total: number; readonly onTarget: number };
  readonly vmHosts: { readonly total: number; readonly onTarget: number };
  readonly halts: number;
  readonly failbacks: number;
  readonly durationSeconds: number;
  readonly rolloutSeconds: number;
  readonly failedUnits: number;
  readonly excluded: number;
  /** clusters whose apiserver saw more workloads restarting at once than the plan allows there (ground truth) */
  readonly overMaxUnavailable: readonly OverMaxUnavailable[];
  /** the deadline's pacing factor at the end (1: never judged at risk) */
  readonly pacingFactor: number;
  readonly process: {
    readonly cpuSeconds: number;
    readonly peakRssMb: number;
    readonly loopDelayP99Ms: number;
    readonly loopDelayMaxMs: number;
  };
}

export interface EmbeddedRun {
  /** why the run ended: its own exit, or the benchmark's deadline */
  readonly outcome: 'exited' | 'timeout';
  readonly exitCode: number | null;
  readonly wallSeconds: number;
  /** from start to the plan (the fleet's start-up, the agents' first inventory, planning) */
  readonly planSeconds?: number;
  readonly cpuSeconds: number;
  readonly peakRssMb: number;
  readonly plan?: Plan;
  readonly summary?: DemoSummaryLine;
  /** the rollout's last status, when the bench read it itself (process mode): its transitions time the waves */
  readonly status?: RolloutStatus;
  /** the demo's last progress line (the planner's view of how far the rollout got) */
  readonly progress?: DemoProgressLine;
  /** the loop delay measured from outside (process mode), also when the run gives no summary */
  readonly loopDelay?: { readonly p99Ms: number; readonly maxMs: number };
  readonly stderr: string;
  /** where each process's whole output was kept (process mode) */
  readonly logDir?: string;
}

export interface EmbeddedRunOptions {
  readonly fleetFile: string;
  readonly planFile: string;
  /** the run is killed at this many seconds after start */
  readonly hardLimitSeconds: number;
  /** once the plan is known: the deadline becomes `plan time + this(plan)`, if earlier than the hard limit */
  readonly limitAfterPlan: (plan: Plan) => number;
  readonly nodeArgs?: readonly string[];
  readonly onProgress?: (line: string) => void;
}

/** utime + stime (seconds) and VmHWM (MB) of a live process, or undefined once it is gone. */
export function sample(pid: number): { cpuSeconds: number; peakRssMb: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the command name (which may hold spaces) start at field 3 (state)
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpuSeconds: ticks / CLOCK_TICKS, peakRssMb: hwm ? Number(hwm[1]) / 1024 : 0 };
  } catch {
    return undefined;
  }
}

export function runEmbedded(options: EmbeddedRunOptions): Promise<EmbeddedRun> {
  const started = performance.now();
  const elapsed = (): number => (performance.now() - started) / 1000;
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeArgs ?? []),
      MAIN,
      'demo',
      '--fleet',
      options.fleetFile,
      '--plan-out',
      options.planFile,
      '--exit-when-done',
      '--output',
      'json',
      '--port',
      '0',
      '--timeout',
      String(Math.ceil(options.hardLimitSeconds)),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // the benchmark never leaves a fleet behind, even when it fails itself
  const killChild = (): void => void child.kill('SIGKILL');
  process.once('exit', killChild);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  let progress: DemoProgressLine | undefined;
  let partial = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    // progress lines are read and shown as they come; everything else is the demo's stderr
    const lines = (partial + d).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith(PROGRESS_PREFIX)) {
        stderr += `${line}\n`;
        continue;
      }
      try {
        progress = JSON.parse(line.slice(PROGRESS_PREFIX.length)) as DemoProgressLine;
        options.onProgress?.(formatProgress(progress));
      } catch {
        stderr += `${line}\n`;
      }
    }
  });
  let cpuSeconds = 0;
  let peakRssMb = 0;
  let plan: Plan | undefined;
  let planSeconds: number | undefined;
  let limit = options.hardLimitSeconds;
  let timedOut = false;
  let lastReport = 0;

  const tick = (): void => {
    const s = child.pid === undefined ? undefined : sample(child.pid);
    if (s) {
      cpuSeconds = s.cpuSeconds;
      peakRssMb = Math.max(peakRssMb, s.peakRssMb);
    }
    if (plan === undefined && existsSync(options.planFile)) {
      try {
        plan = JSON.parse(readFileSync(options.planFile, 'utf8')) as Plan;
        planSeconds = elapsed();
        limit = Math.min(options.hardLimitSeconds, planSeconds + options.limitAfterPlan(plan));
        options.onProgress?.(`plan after ${planSeconds.toFixed(1)} s; the run is stopped at ${limit.toFixed(0)} s`);
      } catch {
        // the demo is still writing it: read it on the next tick
      }
    }
    if (elapsed() - lastReport >= 30) {
      lastReport = elapsed();
      options.onProgress?.(
        `${elapsed().toFixed(0)} s: CPU ${cpuSeconds.toFixed(1)} s, peak RSS ${peakRssMb.toFixed(0)} MB`,
      );
    }
    if (!timedOut && elapsed() > limit) {
      // SIGTERM: the demo summarises where it stood and exits (its CPU profile is written); killed if it cannot
      timedOut = true;
      options.onProgress?.(
        `deadline at ${elapsed().toFixed(0)} s: SIGTERM, then SIGKILL after ${STOP_GRACE_SECONDS} s`,
      );
      child.kill('SIGTERM');
    }
    if (timedOut && elapsed() > limit + STOP_GRACE_SECONDS) child.kill('SIGKILL');
  };
  const timer = setInterval(tick, 250);

  return new Promise((resolve) => {
    child.on('exit', (code) => {
      clearInterval(timer);
      process.off('exit', killChild);
      if (partial !== '') stderr += partial;
      const line = stdout.trim().split('\n').pop() ?? '';
      let summary: DemoSummaryLine | undefined;
      try {
        summary = line.startsWith('{') ? (JSON.parse(line) as DemoSummaryLine) : undefined;
      } catch {
        summary = undefined;
      }
      resolve({
        outcome: timedOut ? 'timeout' : 'exited',
        exitCode: code,
        wallSeconds: elapsed(),
        ...(planSeconds === undefined ? {} : { planSeconds }),
        // the last /proc sample may be up to 250 ms old: the demo's own figures are final
        cpuSeconds: Math.max(cpuSeconds, summary?.process.cpuSeconds ?? 0),
        peakRssMb: Math.max(peakRssMb, summary?.process.peakRssMb ?? 0),
        ...(plan ? { plan } : {}),
        ...(summary ? { summary } : {}),
        ...(progress ? { progress } : {}),
        stderr,
      });
    });
  });
}
