// Prometheus from Debian's `prometheus` package, run as our own process (not the system service) on 127.0.0.1.
// It scrapes whatever tests register through file-based service discovery: a test serves its own /metrics
// exporter and writes `<targetsDir>/<name>.json` ([{ "targets": ["127.0.0.1:PORT"], "labels": {...} }]);
// Prometheus picks the file up (inotify, and a 1 s re-read) and scrapes it every second. The fleet benchmark starts
// a Prometheus of its own with the same pieces (`launchPrometheus`, test/bench/fleet/bench-prometheus.ts).
import fs from 'node:fs';
import path from 'node:path';
import type { PrometheusState } from '../../support/env-state.ts';
import { eventually } from '../../support/eventually.ts';
import { freePort, portsFree } from '../../support/ports.ts';
import {
  dataDirectory,
  log,
  pidAlive,
  run,
  serverStatus,
  startDetached,
  stateDir,
  stopPid,
  which,
  type ServerStatus,
} from './common.ts';

/** Short, so a test sees a counter change within a couple of seconds. */
export const SCRAPE_INTERVAL_SECONDS = 1;

export function ensurePrometheus(): string {
  let bin = which('prometheus');
  if (bin) return bin;
  if (process.getuid?.() !== 0) {
    throw new Error(
      'prometheus is missing: install Debian package prometheus (apt-get install -y --no-install-recommends prometheus)',
    );
  }
  log('installing prometheus with apt-get');
  run('apt-get', ['update', '-qq']);
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'prometheus'], {
    env: { DEBIAN_FRONTEND: 'noninteractive' },
  });
  // Debian may start its system service on install (where there is an init); we never use it.
  bin = which('prometheus');
  if (!bin) throw new Error('prometheus still missing after apt-get install');
  return bin;
}

export async function prometheusHealthy(url: string): Promise<boolean> {
  const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) });
  return res.ok;
}

/** What a Prometheus of ours scrapes and how often: the test env's, or a benchmark's own (ADR 0065). */
export interface ScrapeSettings {
  /** the file-SD directory: every `*.json` in it is a list of target groups */
  readonly targetsDir: string;
  readonly scrapeIntervalSeconds: number;
  /** at most the interval (Prometheus refuses a longer one); the interval by default */
  readonly scrapeTimeoutSeconds?: number;
  /** names the configuration's writer in its first line */
  readonly writer?: string;
}

/** The configuration file of a Prometheus of ours (pure). */
export function prometheusConfig({
  targetsDir,
  scrapeIntervalSeconds,
  scrapeTimeoutSeconds = scrapeIntervalSeconds,
  writer = 'test/env/lib/prometheus.ts',
}: ScrapeSettings): string {
  if (!(scrapeTimeoutSeconds > 0 && scrapeTimeoutSeconds <= scrapeIntervalSeconds))
    throw new RangeError(`scrape timeout ${scrapeTimeoutSeconds} s: above 0 and at most the interval`);
  return `# written by ${writer}
global:
  scrape_interval: ${scrapeIntervalSeconds}s
  scrape_timeout: ${scrapeTimeoutSeconds}s
  evaluation_interval: ${scrapeIntervalSeconds}s
scrape_configs:
  - job_name: meshwave-tests
    file_sd_configs:
      - files: ['${targetsDir}/*.json']
        refresh_interval: 1s
`;
}

/**
 * Starts Prometheus (or reuses a healthy one). A Prometheus started here begins with empty data: replaying
 * what a fleet benchmark left took a minute. A drill's restart keeps port, targets and data.
 */
export async function upPrometheus(prev: PrometheusState | undefined): Promise<PrometheusState> {
  if (prev?.pid && pidAlive(prev.pid) && (await prometheusHealthy(prev.url).catch(() => false))) {
    log(`prometheus: reusing pid ${prev.pid} on ${prev.port}`);
    return prev;
  }
  if (prev?.pid) await stopPid(prev.pid, { graceMs: 5000 });
  return startPrometheus(prev, { emptyData: true });
}

export async function startPrometheus(
  prev: PrometheusState | undefined,
  { emptyData = false }: { emptyData?: boolean } = {},
): Promise<PrometheusState> {
  return launchPrometheus({
    dir: path.join(stateDir(), 'prometheus'),
    port: prev?.port,
    emptyData,
    scrapeIntervalSeconds: SCRAPE_INTERVAL_SECONDS,
  });
}

/** Where and how one Prometheus of ours runs. */
export interface PrometheusLaunch {
  /** holds its configuration, `data/`, `targets/` and log */
  readonly dir: string;
  /** kept while free; a free one otherwise */
  readonly port?: number | undefined;
  readonly emptyData: boolean;
  readonly scrapeIntervalSeconds: number;
  readonly scrapeTimeoutSeconds?: number;
  readonly writer?: string;
  /** more command-line flags (e.g. `--storage.tsdb.*`) */
  readonly flags?: readonly string[];
  /** more environment (e.g. GOMAXPROCS) */
  readonly env?: NodeJS.ProcessEnv;
  /** told the pid as soon as the process runs, before it is ready (a caller stopping on a signal needs it) */
  readonly onPid?: (pid: number) => void;
}

/**
 * Starts a Prometheus of ours in `dir` (detached: the caller stops it with `stopPid`) and waits until it is ready.
 * The test env's lives in its state directory; a benchmark's in a temporary directory of its own.
 */
export async function launchPrometheus(launch: PrometheusLaunch): Promise<PrometheusState> {
  const bin = ensurePrometheus();
  const { dir, scrapeIntervalSeconds } = launch;
  const dataDir = dataDirectory(path.join(dir, 'data'), { empty: launch.emptyData });
  const targetsDir = path.join(dir, 'targets');
  fs.mkdirSync(targetsDir, { recursive: true });
  let port = launch.port;
  if (!port || !(await portsFree([port]))) port = await freePort();
  const configFile = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(
    configFile,
    prometheusConfig({
      targetsDir,
      scrapeIntervalSeconds,
      ...(launch.scrapeTimeoutSeconds === undefined ? {} : { scrapeTimeoutSeconds: launch.scrapeTimeoutSeconds }),
      ...(launch.writer === undefined ? {} : { writer: launch.writer }),
    }),
  );
  const logFile = path.join(dir, 'prometheus.log');
  const url = `http://127.0.0.1:${port}`;
  const pid = startDetached(
    bin,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${dataDir}`,
      // test data is worthless after a day; keeps the directory small
      '--storage.tsdb.retention.time=1d',
      `--web.listen-address=127.0.0.1:${port}`,
      // lets a drill reload the configuration without a restart
      '--web.enable-lifecycle',
      ...(launch.flags ?? []),
    ],
    { logFile, cwd: dir, ...(launch.env === undefined ? {} : { env: launch.env }) },
  );
  log(`prometheus: started pid ${pid} on ${url}`);
  launch.onPid?.(pid);
  try {
    await eventually('prometheus', () => prometheusHealthy(url), { timeoutMs: 60_000, alive: () => pidAlive(pid) });
  } catch (err) {
    await stopPid(pid, { graceMs: 5000 });
    throw err;
  }
  return {
    url,
    port,
    pid,
    targetsDir,
    scrapeIntervalSeconds,
    configFile,
    dataDir,
    logFile,
    version: prometheusVersion(bin),
  };
}

export async function downPrometheus(state: PrometheusState | undefined): Promise<void> {
  if (state?.pid) await stopPid(state.pid, { graceMs: 10_000 });
}

export function prometheusStatus(state: PrometheusState | undefined): Promise<ServerStatus> {
  return serverStatus(
    state,
    (s) => prometheusHealthy(s.url),
    (s) => ({ url: s.url, version: s.version }),
  );
}

function prometheusVersion(bin: string): string {
  const m = /version ([0-9.]+)/.exec(run(bin, ['--version']));
  return m?.[1] ?? 'unknown';
}
