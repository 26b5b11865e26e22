// The fleet benchmark's own Prometheus (process mode, ADR 0065): started with the test env's pieces
// (test/env/lib/prometheus.ts) in a temporary directory of its own, with the scrape interval the fleet needs, and
// stopped and removed when the benchmark ends: at its end, on failure, on SIGINT/SIGTERM and on exit. The test
// env's Prometheus never sees the benchmark's million series (its write-ahead log of them once made CI fail).
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { launchPrometheus } from '../../env/lib/prometheus.ts';
import { stopPid } from '../../env/lib/common.ts';
import type { PrometheusState } from '../../support/env-state.ts';

export interface BenchPrometheus {
  readonly state: PrometheusState;
  /** the temporary directory holding its configuration, data, targets and log */
  readonly dir: string;
  /** stops it and removes its directory; safe to call twice */
  stop(): Promise<void>;
}

export interface BenchPrometheusOptions {
  readonly scrapeIntervalSeconds: number;
  /** where its temporary directory is made (the system's temporary directory by default) */
  readonly parent?: string;
}

/** prefix of the benchmark Prometheus's temporary directory */
export const BENCH_PROMETHEUS_PREFIX = 'meshwave-bench-prometheus-';

const SIGNALS = { SIGINT: 130, SIGTERM: 143 } as const;

/** Starts the benchmark's Prometheus; it is gone once `stop()` resolves, or when this process ends however it ends. */
export async function startBenchPrometheus(options: BenchPrometheusOptions): Promise<BenchPrometheus> {
  const dir = fs.mkdtempSync(path.join(options.parent ?? tmpdir(), BENCH_PROMETHEUS_PREFIX));
  let pid: number | undefined;
  // what must happen however the process ends: nothing asynchronous runs in an 'exit' listener
  const gone = (): void => {
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    gone();
    // exit, not the default action: the benchmark's other 'exit' listeners stop its child processes
    process.exit(SIGNALS[signal as keyof typeof SIGNALS] ?? 1);
  };
  const detach = (): void => {
    process.off('exit', gone);
    for (const s of Object.keys(SIGNALS)) process.off(s, onSignal);
  };
  process.on('exit', gone);
  for (const s of Object.keys(SIGNALS)) process.on(s, onSignal);
  let state: PrometheusState;
  try {
    state = await launchPrometheus({
      dir,
      emptyData: true,
      scrapeIntervalSeconds: options.scrapeIntervalSeconds,
      writer: 'test/bench/fleet/bench-prometheus.ts',
      onPid: (p) => void (pid = p),
    });
  } catch (err) {
    detach();
    gone();
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    state,
    dir,
    stop: () =>
      (stopped ??= (async () => {
        await stopPid(state.pid, { graceMs: 10_000 });
        detach();
        fs.rmSync(dir, { recursive: true, force: true });
      })()),
  };
}
