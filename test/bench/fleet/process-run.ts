// Mode 2 of the fleet benchmark: the planner as its own process (its bin, configured as README's "Run it for
// real" says) on the test env's Kafka and Redis and a Prometheus of the run's own (bench-prometheus.ts, ADR 0065:
// the test env's never holds the run's million series), the agents and the vm-bridge in simulator processes of
// their own (fleet-simulator.ts: the clusters dealt over several, the bridge in one more, ADR 0067), so the
// planner's own CPU, peak RSS (from /proc of its pid only) and event-loop delay (its /metrics) are measured. The
// benchmark plays the demo's operator (approvals) through the planner's API. Every run has its own topics, Redis
// key prefix, consumer groups and Prometheus; every process and the Prometheus are stopped at the end, on failure
// and at the deadline (the Prometheus also on SIGINT and exit).
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  LiveView,
  PlannerClient,
  demoRolloutSpec,
  playScenario,
  type DemoFleetConfig,
  type DemoProgress,
} from '@meshwave/cli';
import type { GateVerdict, Plan, RolloutStatus } from '@meshwave/contracts';
import { envCli, loadTestEnv } from '../../support/env.ts';
import { startBenchPrometheus } from './bench-prometheus.ts';
import { freePort } from '../../support/ports.ts';
import { KEYS_DIR_VARIABLE, newSigningFleet } from '../../support/signing-fleet.ts';
import { sample, type EmbeddedRun } from './embedded-run.ts';
import { fleetInventory } from './fleet-plan.ts';
import { clusterLabelOf } from './fleet-files.ts';
import { startSimulators, stopChild, tail, type Simulators } from './sim-processes.ts';
import { defaultClusterProcesses, splitSimulatedFleet } from './sim-split.ts';
import { byTime, loopDelayOf, simulatorSamples, summarize } from './process-summary.ts';
import { chartHeapFlags, chartLeaseTtlMs, chartMallocEnv, chartResyncMs } from './planner-chart.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PLANNER_BIN = `${ROOT}services/planner/bin/meshwave-planner.js`;
const EXAMPLE = `${ROOT}examples/rollouts.yml`;
const MEMORY_SAMPLER = fileURLToPath(new URL('./memory-sampler.ts', import.meta.url));

/**
 * How long the bench keeps the fleet running after the rollout ended, sampling the planner: the agents and the
 * bridge keep reporting (progress re-sent, health every 15 s), and the planner's peak RSS came in the seconds after
 * the end (issue 15, ADR 0075). Two resync intervals of the bridge's and the agents' reports.
 */
export const AFTER_END_SECONDS = 30;

export interface ProcessRunOptions {
  readonly fleet: DemoFleetConfig;
  /** the fleet as JSON (fleet-files.ts) */
  readonly fleetFile: string;
  /** how often the run's own Prometheus scrapes the simulator's targets */
  readonly scrapeIntervalSeconds: number;
  readonly hardLimitSeconds: number;
  readonly limitAfterPlan: (plan: Plan) => number;
  readonly onProgress?: (line: string) => void;
  /** `node --cpu-prof` of both processes into this directory (written when each stops) */
  readonly cpuProfDir?: string;
  /** a heap snapshot of the planner (into `cpuProfDir`) this many seconds after the rollout is applied */
  readonly heapSnapshotAfterSeconds?: number;
  /** simulator processes for the clusters (the vm-bridge runs in one more); default one per core, 2 at least */
  readonly simProcesses?: number;
  /** where each process's whole output is kept (`planner.log`, `simulator-N.log`); created if missing */
  readonly logDir: string;
  /** the planner's memory parts sampled from inside (memory-sampler.ts) into `planner-memory.log` in `logDir` */
  readonly memoryLog?: boolean;
}

/** How long a process of this fleet may take to start: 2 min, plus what building its simulated parts takes. */
export function startupLimitSeconds(fleet: DemoFleetConfig): number {
  const workloads = fleet.clusters.reduce((n, c) => n + c.namespaces.length * c.workloadsPerNamespace, 0);
  const hosts = fleet.vmGroups.reduce((n, g) => n + g.hosts, 0);
  return Math.round(120 + workloads / 500 + hosts / 200);
}

async function until<T>(
  what: string,
  child: ChildProcess,
  probe: () => Promise<T | undefined>,
  limitSeconds = 120,
): Promise<T> {
  const end = Date.now() + limitSeconds * 1000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what}: the process exited`);
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${limitSeconds} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The planner's `meshwave_event_loop_delay_seconds` now (p99 of its last 5 s window), ms; with `keepIn`, the whole
 * /metrics text is appended there too, stamped with the seconds since the run's start.
 */
async function loopDelayMs(url: string, keepIn?: { file: string; at: number }): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  if (keepIn !== undefined) appendFileSync(keepIn.file, `# at ${keepIn.at.toFixed(1)} s\n${text}\n`);
  const m = /^meshwave_event_loop_delay_seconds (\S+)$/m.exec(text);
  return m ? Number(m[1]) * 1000 : undefined;
}

/** Whether the test env's Kafka and Redis answer (`env.ts status` exits 1 when anything else does not). */
async function backingServicesHealthy(): Promise<boolean> {
  let text: string;
  try {
    text = await envCli('status');
  } catch (err) {
    text = (err as { stdout?: string }).stdout ?? '';
  }
  try {
    const s = JSON.parse(text) as Record<string, { healthy?: boolean } | undefined>;
    return ['kafka', 'redis'].every((part) => s[part]?.healthy === true);
  } catch {
    return false;
  }
}

export async function runProcess(options: ProcessRunOptions): Promise<EmbeddedRun> {
  const say = options.onProgress ?? (() => undefined);
  // Kafka and Redis only; the Kubernetes clusters are not needed here, so a run does not wait for the env's lock
  // while someone builds or starts them
  if (!(await backingServicesHealthy())) await envCli('up', '--no-kube');
  const env = loadTestEnv();
  const benchPrometheus = await startBenchPrometheus({ scrapeIntervalSeconds: options.scrapeIntervalSeconds });
  const prometheus = benchPrometheus.state;
  say(
    `the run's own Prometheus: pid ${prometheus.pid} on ${prometheus.url}, every ${options.scrapeIntervalSeconds} s, in ${benchPrometheus.dir}`,
  );
  mkdirSync(options.logDir, { recursive: true });
  // a heap snapshot is written there while the planner runs (its CPU profile only on exit, which creates it)
  if (options.cpuProfDir !== undefined) mkdirSync(options.cpuProfDir, { recursive: true });
  const run = randomBytes(4).toString('hex');
  const token = randomBytes(24).toString('hex');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // Ed25519 as every process on Kafka signs (ADR 0038; HMAC is the embedded demo's only, ADR 0046): a key per
  // cluster and for the bridge, which the simulator reads from the directory, and the planner's
  const keys = newSigningFleet(options.fleet.clusters.map((c) => c.name));
  // the simulated fleet over several processes (ADR 0067): the clusters dealt over them, the bridge in one more
  const parts = splitSimulatedFleet(
    options.fleet,
    options.simProcesses ?? defaultClusterProcesses(options.fleet.clusters.length, availableParallelism()),
  );
  const shared = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    OTEL_SDK_DISABLED: 'true',
    LOG_LEVEL: 'warn',
    MESHWAVE_KAFKA_BROKERS: env.kafka.brokers.join(','),
    MESHWAVE_REDIS_URL: env.redis.url,
    MESHWAVE_REDIS_KEY_PREFIX: `bench-${run}`,
    MESHWAVE_TOPIC_COMMANDS: `bench-${run}.commands`,
    MESHWAVE_TOPIC_EVENTS: `bench-${run}.events`,
    MESHWAVE_TOPIC_DLQ: `bench-${run}.dlq`,
  };

  const started = performance.now();
  const elapsed = (): number => (performance.now() - started) / 1000;
  // the planner as README's "Run it for real" starts it, with the embedded planner's short intervals (its resync
  // as the chart sets it)
  const profile = options.cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`];
  const heap =
    options.cpuProfDir === undefined || options.heapSnapshotAfterSeconds === undefined
      ? []
      : ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${options.cpuProfDir}`];
  // the heap as the chart sizes it, so the peak RSS measured is the deployed planner's
  const heapLimit = chartHeapFlags();
  const mallocEnv = chartMallocEnv();
  say(
    `planner started as its chart deploys it: ${heapLimit.join(' ') || "Node's own heap sizing"}` +
      Object.entries(mallocEnv)
        .map(([k, v]) => ` ${k}=${v}`)
        .join('') +
      ` MESHWAVE_RESYNC_MS=${chartResyncMs()} MESHWAVE_LEASE_TTL_MS=${chartLeaseTtlMs()}`,
  );
  const memoryLog = options.memoryLog === true ? join(options.logDir, 'planner-memory.log') : undefined;
  const sampler = memoryLog === undefined ? [] : [`--import=${MEMORY_SAMPLER}`];
  const planner = spawn(process.execPath, [...profile, ...heap, ...heapLimit, ...sampler, PLANNER_BIN], {
    env: {
      ...shared,
      ...(memoryLog === undefined ? {} : { MESHWAVE_BENCH_MEMORY_LOG: memoryLog }),
      ...keys.envFor('planner'),
      MESHWAVE_TOKENS: JSON.stringify([{ name: 'bench-operator', role: 'admin', token }]),
      MESHWAVE_HOST: '127.0.0.1',
      MESHWAVE_PORT: String(port),
      MESHWAVE_INSTANCE_ID: `bench-${run}`,
      MESHWAVE_EVENTS_GROUP_ID: `bench-${run}.planner`,
      MESHWAVE_LEASE_TTL_MS: String(chartLeaseTtlMs()),
      MESHWAVE_RESYNC_MS: String(chartResyncMs()),
      MESHWAVE_GATE_RETRY_MS: '1000',
      MESHWAVE_PROMETHEUS_URL: prometheus.url,
      MESHWAVE_PROMETHEUS_CLUSTER_LABEL: clusterLabelOf(run),
      // glibc's malloc arenas as the chart sets them (ADR 0066)
      ...mallocEnv,
      // the planner's default (5 s) unless the bench is told otherwise: a gate's query grows with its namespaces
      ...(process.env.MESHWAVE_PROMETHEUS_TIMEOUT_MS
        ? { MESHWAVE_PROMETHEUS_TIMEOUT_MS: process.env.MESHWAVE_PROMETHEUS_TIMEOUT_MS }
        : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const plannerLog = tail(planner, join(options.logDir, 'planner.log'));
  say(`each process's whole output goes to ${options.logDir}`);
  let simulators: Simulators | undefined;
  let simulatorPids: readonly number[] = [];
  // the benchmark never leaves a process behind, even when it fails itself (the simulators see to their own)
  const killAll = (): void => void planner.kill('SIGKILL');
  process.once('exit', killAll);

  let cpuSeconds = 0;
  let peakRssMb = 0;
  let limit = options.hardLimitSeconds;
  let planSeconds: number | undefined;
  let timedOut = false;
  let lastReport = 0;
  let snapshotTaken = false;
  /** the planner's CPU, the wall time and the peak RSS when the rollout ended */
  let atEnd: { cpuSeconds: number; wallSeconds: number; peakRssMb: number } | undefined;
  const loopDelays: number[] = [];
  const progress: DemoProgress = {};
  let onTimeout: () => void = () => undefined;
  /** every gate verdict any status read showed (a status holds the newest 100 only), by wave, time and source */
  const verdicts = new Map<string, GateVerdict>();
  let seenStatus: RolloutStatus | undefined;
  const tick = (): void => {
    if (progress.status !== undefined && progress.status !== seenStatus) {
      seenStatus = progress.status;
      for (const v of seenStatus.gateVerdicts) verdicts.set(`${v.wave} ${v.at} ${v.source} ${v.final}`, v);
    }
    const s = planner.pid === undefined ? undefined : sample(planner.pid);
    if (s) {
      cpuSeconds = s.cpuSeconds;
      peakRssMb = Math.max(peakRssMb, s.peakRssMb);
    }
    if (planSeconds === undefined && progress.plan !== undefined) {
      planSeconds = elapsed();
      limit = Math.min(options.hardLimitSeconds, planSeconds + options.limitAfterPlan(progress.plan));
      say(`plan after ${planSeconds.toFixed(1)} s; the run is stopped at ${limit.toFixed(0)} s`);
    }
    if (elapsed() - lastReport >= 30) {
      lastReport = elapsed();
      const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
      say(
        `${elapsed().toFixed(0)} s: planner CPU ${cpuSeconds.toFixed(1)} s, peak RSS ${peakRssMb.toFixed(0)} MB; ` +
          `simulators CPU s / peak RSS MB ${simulatorSamples(simulatorPids)}${simulators ? '' : ' (starting)'}; load ${load}`,
      );
    }
    if (
      !snapshotTaken &&
      heap.length > 0 &&
      progress.appliedAt !== undefined &&
      Date.now() - progress.appliedAt > (options.heapSnapshotAfterSeconds ?? 0) * 1000
    ) {
      snapshotTaken = true;
      say(`heap snapshot of the planner into ${options.cpuProfDir}`);
      planner.kill('SIGUSR2');
    }
    if (!timedOut && atEnd === undefined && elapsed() > limit) {
      timedOut = true;
      onTimeout();
    }
  };
  const timer = setInterval(tick, 250);
  // the planner's metrics every 5 s in the log directory, to time its publishes and reconciles after the run
  let loopSamples = 0;
  const loopTimer = setInterval(() => {
    if (progress.plan === undefined) return;
    const keep =
      loopSamples++ % 5 === 0 ? { file: join(options.logDir, 'planner-metrics.log'), at: elapsed() } : undefined;
    void loopDelayMs(url, keep)
      .then((ms) => ms !== undefined && loopDelays.push(ms))
      .catch(() => undefined);
  }, 1000);

  let summary: EmbeddedRun['summary'];
  let finalStatus: RolloutStatus | undefined;
  let failure = '';
  try {
    const client = new PlannerClient(url, token);
    await until('the planner ready', planner, async () => ((await fetch(`${url}/readyz`)).ok ? true : undefined));
    // VM groups are known to the planner from the operator's base inventory; clusters from their agents' reports
    await until('the base inventory', planner, async () => {
      await client.putInventory({ clusters: [], vmGroups: fleetInventory(options.fleet).vmGroups });
      return true;
    });
    const example = readFileSync(EXAMPLE, 'utf8');
    const { to } = demoRolloutSpec(example, 0, new Date()).spec as { to: string };
    simulators = await startSimulators({
      fleetFile: options.fleetFile,
      parts,
      to,
      run,
      targetsDir: prometheus.targetsDir,
      env: { ...shared, [KEYS_DIR_VARIABLE]: keys.dir },
      logDir: options.logDir,
      nodeArgs: profile,
      startupLimitSeconds: startupLimitSeconds(options.fleet),
      onSpawned: (pids) => void (simulatorPids = pids),
    });
    const sims = simulators;
    say(
      `planner pid ${planner.pid} on ${url}; run ${run}; simulators: ` +
        parts
          .map((p, i) => `pid ${sims.pids[i]} ${p.vmBridge ? 'vm-bridge' : `${p.clusters.length} clusters`}`)
          .join(', '),
    );
    const scenario = playScenario(
      {
        options: { summary: 'json', timeoutSeconds: options.hardLimitSeconds },
        io: { stdout: () => undefined, env: {} },
        fleetConfig: options.fleet,
        client,
        say: (text) => say(text),
        // the progress is the bench's own lines: the scenario's view prints nothing
        view: new LiveView(() => undefined, undefined),
      },
      example,
      progress,
    );
    const deadline = new Promise<never>((_, reject) => {
      onTimeout = () => reject(new Error('timeout'));
    });
    scenario.catch(() => undefined); // after a timeout it fails once the planner is stopped
    const { status, plan } = await Promise.race([scenario, deadline]);
    finalStatus = status;
    for (const v of status.gateVerdicts) verdicts.set(`${v.wave} ${v.at} ${v.source} ${v.final}`, v);
    summary = await summarize(status, plan, sims, {
      startedAt: started,
      appliedAt: progress.appliedAt ?? Date.now(),
      cpuSeconds,
      peakRssMb,
      loopDelays,
    });
    // the planner's CPU and the run's wall time are the rollout's; its peak RSS also covers what follows the end
    atEnd = { cpuSeconds, wallSeconds: elapsed(), peakRssMb };
    await new Promise((r) => setTimeout(r, AFTER_END_SECONDS * 1000));
  } catch (err) {
    if (!timedOut) failure = (err as Error).message;
  } finally {
    clearInterval(timer);
    clearInterval(loopTimer);
    tick();
    // a profiled process writes its profile on the way out, which takes a while on a busy machine
    const graceMs = options.cpuProfDir === undefined ? 10_000 : 120_000;
    await simulators?.stop(graceMs);
    // the reports the planner was still taking when the simulators stopped count too (VmHWM: its peak so far)
    tick();
    if (atEnd !== undefined)
      say(
        `planner peak RSS ${atEnd.peakRssMb.toFixed(0)} MB at the rollout's end, ${peakRssMb.toFixed(0)} MB with the ` +
          `${AFTER_END_SECONDS} s after it`,
      );
    await stopChild(planner, graceMs);
    await benchPrometheus.stop();
    keys.cleanup();
    process.off('exit', killAll);
  }
  // a planner that exited by itself before the end (a crash, the heap limit) says so; stopped by the bench, SIGTERM
  const plannerEnd = `planner ${planner.signalCode === null ? `exited with code ${planner.exitCode}` : `stopped by ${planner.signalCode}`}\n`;
  const lastStatus = finalStatus ?? seenStatus;
  return {
    outcome: timedOut ? 'timeout' : 'exited',
    exitCode: summary ? 0 : 1,
    wallSeconds: atEnd?.wallSeconds ?? elapsed(),
    ...(planSeconds === undefined ? {} : { planSeconds }),
    cpuSeconds: atEnd?.cpuSeconds ?? cpuSeconds,
    peakRssMb,
    ...(progress.plan ? { plan: progress.plan } : {}),
    ...(summary ? { summary } : {}),
    // the last status seen: a run that timed out is timed as far as it got
    ...(lastStatus ? { status: { ...lastStatus, gateVerdicts: [...verdicts.values()].sort(byTime) } } : {}),
    ...(loopDelays.length > 0 ? { loopDelay: loopDelayOf(loopDelays) } : {}),
    stderr: `${plannerLog()}\n${simulators?.log() ?? ''}\n${plannerEnd}${failure}`,
    logDir: options.logDir,
  };
}
