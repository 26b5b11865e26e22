// The process mode's simulator processes (ADR 0067): the simulated fleet split over several fleet-simulator.ts
// processes (sim-split.ts), each with its own metrics endpoint registered with the run's own Prometheus (a target
// file each), all on the same Kafka topics and Redis prefix (the environment given). Start-up waits for all of
// them; a failure of one while starting stops all of them; `stop()` stops all of them; none outlives the process
// that started them (killed on its exit; each also stops itself when its stdin closes).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { partArgs, sumGroundTruth, type SimulatorPart } from './sim-split.ts';

const SIMULATOR = fileURLToPath(new URL('./fleet-simulator.ts', import.meta.url));

/**
 * A child's output, its last 64 KB, for the report of a run that failed; with `logFile`, also all of it (stdout
 * and stderr as they come) in that file, so a failure can be explained after the run.
 */
export function tail(child: ChildProcess, logFile?: string): () => string {
  let text = '';
  const file = logFile === undefined ? undefined : fs.createWriteStream(logFile, { flags: 'a' });
  const keep = (d: Buffer): void => {
    text = (text + d.toString()).slice(-65_536);
    file?.write(d);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.once('exit', (code, signal) => {
    file?.end(`\n[bench] pid ${child.pid} exited: ${signal === null ? `code ${code}` : `signal ${signal}`}\n`);
  });
  return () => text;
}

const gone = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

/** Stops a child: SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. */
export function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (gone(child)) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Start-up failed: one process exited or did not serve in time; all of them (`pids`) were stopped. */
export class SimulatorsStartError extends Error {
  readonly code = 'SIMULATORS_NOT_STARTED';
  readonly pids: readonly number[];
  constructor(message: string, pids: readonly number[]) {
    super(message);
    this.name = 'SimulatorsStartError';
    this.pids = pids;
  }
}

export interface SimulatorsOptions {
  readonly fleetFile: string;
  readonly parts: readonly SimulatorPart[];
  readonly to: string;
  readonly run: string;
  /** the Prometheus's file-SD directory: each process registers its targets in a file of its own there */
  readonly targetsDir: string;
  readonly env: NodeJS.ProcessEnv;
  /** node flags of every process (e.g. --cpu-prof) */
  readonly nodeArgs?: readonly string[];
  readonly startupLimitSeconds: number;
  /** a directory for each process's whole output (`simulator-N.log`) */
  readonly logDir?: string;
  /** told every process's pid as soon as they are spawned (to watch them while they start) */
  readonly onSpawned?: (pids: readonly number[]) => void;
}

export interface Simulators {
  readonly pids: readonly number[];
  /** each process's HTTP port, in the order of the parts */
  readonly ports: readonly number[];
  /** every process's output, its last 64 KB each */
  log(): string;
  /** the fleet's ground truth, summed over the processes */
  groundTruth<G>(
    to: string,
    excluded: readonly string[],
  ): Promise<{ units: { total: number; onTarget: number }; vmGroups: G[]; peakRestarting: Record<string, number> }>;
  /** stops all of them (SIGTERM, SIGKILL after `graceMs`) and removes their target files; safe to call twice */
  stop(graceMs: number): Promise<void>;
}

/** the target file of a run's `index`-th simulator process */
export function targetFileOf(targetsDir: string, run: string, index: number): string {
  return path.join(targetsDir, `fleet-bench-${run}-${index}.json`);
}

/** Starts one simulator process per part and waits until every one serves; on any failure none is left running. */
export async function startSimulators(options: SimulatorsOptions): Promise<Simulators> {
  const files = options.parts.map((_, i) => targetFileOf(options.targetsDir, options.run, i));
  const children = options.parts.map((part, i) =>
    spawn(
      process.execPath,
      [
        ...(options.nodeArgs ?? []),
        SIMULATOR,
        ...['--fleet', options.fleetFile, '--to', options.to, '--target-file', files[i]!, '--run', options.run],
        ...partArgs(part),
      ],
      { env: options.env, stdio: ['pipe', 'pipe', 'pipe'] },
    ),
  );
  const logs = children.map((c, i) =>
    tail(c, options.logDir === undefined ? undefined : path.join(options.logDir, `simulator-${i}.log`)),
  );
  options.onSpawned?.(children.flatMap((c) => (c.pid === undefined ? [] : [c.pid])));
  const log = (): string => logs.map((l, i) => `simulator ${i} (pid ${children[i]!.pid}):\n${l()}`).join('\n');
  const killAll = (): void => {
    for (const c of children) if (!gone(c)) c.kill('SIGKILL');
  };
  process.once('exit', killAll);
  let stopped: Promise<void> | undefined;
  const stop = (graceMs: number): Promise<void> =>
    (stopped ??= (async () => {
      await Promise.all(children.map((c) => stopChild(c, graceMs)));
      for (const f of files) fs.rmSync(f, { force: true });
      process.off('exit', killAll);
    })());
  try {
    const ports = await Promise.all(children.map((c, i) => portOf(c, logs[i]!, i, options.startupLimitSeconds)));
    return {
      pids: children.map((c) => c.pid!),
      ports,
      log,
      stop,
      groundTruth: async <G>(to: string, excluded: readonly string[]) => {
        const query = new URLSearchParams({ to, excluded: excluded.join(',') });
        const each = await Promise.all(
          ports.map(async (port) => {
            const res = await fetch(`http://127.0.0.1:${port}/ground-truth?${query}`);
            return (await res.json()) as {
              units: { total: number; onTarget: number };
              vmGroups: G[];
              peakRestarting: Record<string, number>;
            };
          }),
        );
        return sumGroundTruth(each);
      },
    };
  } catch (err) {
    await stop(10_000);
    throw new SimulatorsStartError(
      `${(err as Error).message}\n${log()}`,
      children.flatMap((c) => (c.pid === undefined ? [] : [c.pid])),
    );
  }
}

/** The port a simulator prints once it serves; rejects when it exits first or does not within the limit. */
async function portOf(child: ChildProcess, log: () => string, index: number, limitSeconds: number): Promise<number> {
  const end = Date.now() + limitSeconds * 1000;
  for (;;) {
    const port = /^\{"port":(\d+)\}$/m.exec(log())?.[1];
    if (port !== undefined) return Number(port);
    if (gone(child)) throw new Error(`simulator ${index}: exited while starting`);
    if (Date.now() > end) throw new Error(`simulator ${index}: not serving within ${limitSeconds} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
