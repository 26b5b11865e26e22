// Prometheus from Debian's `prometheus` package, run as our own process (not the system service) on 127.0.0.1.
// It scrapes whatever tests register through file-based service discovery: a test serves its own /metrics
// exporter and writes `<targetsDir>/<name>.json` ([{ "targets": ["127.0.0.1:PORT"], "labels": {...} }]);
// Prometheus picks the file up (inotify, and a 1 s re-read) and scrapes it every second.
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

function prometheusConfig({ targetsDir }: { targetsDir: string }): string {
  return `# written by test/env/lib/prometheus.ts
global:
  scrape_interval: ${SCRAPE_INTERVAL_SECONDS}s
  scrape_timeout: ${SCRAPE_INTERVAL_SECONDS}s
  evaluation_interval: ${SCRAPE_INTERVAL_SECONDS}s
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
  const bin = ensurePrometheus();
  const dir = path.join(stateDir(), 'prometheus');
  const dataDir = dataDirectory(path.join(dir, 'data'), { empty: emptyData });
  const targetsDir = path.join(dir, 'targets');
  fs.mkdirSync(targetsDir, { recursive: true });
  let port = prev?.port;
  if (!port || !(await portsFree([port]))) port = await freePort();
  const configFile = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(configFile, prometheusConfig({ targetsDir }));
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
    ],
    { logFile, cwd: dir },
  );
  log(`prometheus: started pid ${pid} on ${url}`);
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
    scrapeIntervalSeconds: SCRAPE_INTERVAL_SECONDS,
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
