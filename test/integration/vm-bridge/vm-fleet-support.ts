// Helpers for the vm-bridge integration tests: real bundles, a bridge served over HTTP on 127.0.0.1, and
// vm-agent processes (the built executable) running the test proxy as istio-proxy.
import { spawn, execFile, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createKafkaBus, type EventBus, type SigningOptions } from '@meshwave/bus';
import { createRedisStore, type StateStore } from '@meshwave/store';
import { loadTestEnv } from '../../support/env.ts';
import {
  VmBridge,
  buildApp,
  hashToken,
  staticBundleCatalog,
  type BridgeSettings,
  type BundleCatalog,
} from '@meshwave/vm-bridge';
import type { FastifyInstance } from 'fastify';
import { destination } from 'pino';
import { createLogger } from '@meshwave/telemetry';
import { freePort } from '../../support/ports.ts';

const execFileAsync = promisify(execFile);
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
// the committed bin, as an operator runs it (it imports dist/)
const agentMain = path.join(repoRoot, 'services/vm-agent/bin/meshwave-vm-agent.js');
const testProxy = fileURLToPath(new URL('./fixtures/test-proxy.ts', import.meta.url));
export const ENROLLMENT_TOKEN = 'integration-enrollment-token';

/** The agent runs from its build output (a separate executable): build it (and the bridge) once per run. */
export function buildVmBridge(): void {
  const r = spawnSync(path.join(repoRoot, 'node_modules/.bin/tsc'), ['-b', 'services/vm-bridge', 'services/vm-agent'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`tsc -b services/vm-bridge services/vm-agent failed:\n${r.stdout}${r.stderr}`);
}

/** One free-port helper for every test (test/support/ports.ts); re-exported for the VM tests. */
export { freePort };

export interface TestBundle {
  readonly version: string;
  readonly file: string;
  readonly sha256: string;
}

/** A tar.gz bundle holding the test proxy as bin/istio-proxy and its config; `ready: false` = a bad version. */
export async function newTestBundle(dir: string, version: string, options: { ready: boolean }): Promise<TestBundle> {
  const src = await fsp.mkdtemp(path.join(os.tmpdir(), `bundle-${version}-`));
  await fsp.mkdir(path.join(src, 'bin'));
  await fsp.mkdir(path.join(src, 'lib'));
  await fsp.mkdir(path.join(src, 'config'));
  await fsp.writeFile(
    path.join(src, 'bin', 'istio-proxy'),
    '#!/bin/sh\nexec "${MESHWAVE_TEST_NODE:-node}" "$(dirname "$0")/../lib/test-proxy.ts" "$@"\n',
    { mode: 0o755 },
  );
  await fsp.copyFile(testProxy, path.join(src, 'lib', 'test-proxy.ts'));
  await fsp.writeFile(
    path.join(src, 'config', 'proxy.json'),
    JSON.stringify({ version, configVersion: version, ready: options.ready }),
  );
  const file = path.join(dir, `${version}.tar.gz`);
  await execFileAsync('tar', ['-czf', file, '-C', src, '.']);
  await fsp.rm(src, { recursive: true, force: true });
  const sha256 = createHash('sha256')
    .update(await fsp.readFile(file))
    .digest('hex');
  return { version, file, sha256 };
}

export interface RunningBridge {
  readonly bridge: VmBridge;
  readonly app: FastifyInstance;
  readonly url: string;
  readonly port: number;
  /** stops serving; `releaseLease: false` leaves the lease to expire, as a killed bridge would */
  stop(options?: { readonly releaseLease?: boolean }): Promise<void>;
}

/** A vm-bridge serving HTTP on 127.0.0.1 (port 0 = any), with the bundles of `bundleDir` at /v1/bundles/. */
export async function startBridge(options: {
  readonly store: StateStore;
  readonly bus?: EventBus;
  readonly catalog: BundleCatalog;
  readonly groups: readonly string[];
  readonly bundleDir: string;
  readonly port?: number;
  readonly instance: string;
  readonly settings?: Partial<BridgeSettings>;
  /** the bridge's JSON log goes here (appended) */
  readonly logFile?: string;
}): Promise<RunningBridge> {
  const bridge = new VmBridge({
    ...(options.logFile !== undefined
      ? {
          logger: createLogger({
            service: 'vm-bridge',
            base: { instance: options.instance },
            destination: destination({ dest: options.logFile, append: true, sync: true }),
          }),
        }
      : {}),
    store: options.store,
    ...(options.bus !== undefined ? { bus: options.bus } : {}),
    catalog: options.catalog,
    groups: options.groups.map((name) => ({ name, enrollmentTokenSha256: hashToken(ENROLLMENT_TOKEN) })),
    instance: options.instance,
    settings: { tickMs: 200, leaseTtlMs: 3000, reportStaleMs: 30_000, batchTimeoutMs: 180_000, ...options.settings },
  });
  const app = await buildApp({ bridge, bundleDir: options.bundleDir });
  await app.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  const port = (app.server.address() as net.AddressInfo).port;
  await bridge.start();
  return {
    bridge,
    app,
    port,
    url: `http://127.0.0.1:${port}`,
    stop: async ({ releaseLease = true } = {}) => {
      await app.close();
      if (releaseLease) await bridge.stop();
      else await bridge.abandon();
    },
  };
}

export function bundleCatalog(
  bridgeUrl: string,
  bundles: readonly TestBundle[],
  overrides: Record<string, { sha256: string }> = {},
): BundleCatalog {
  return staticBundleCatalog(
    Object.fromEntries(
      bundles.map((b) => [
        b.version,
        {
          url: `${bridgeUrl}/v1/bundles/${path.basename(b.file)}`,
          sha256: overrides[b.version]?.sha256 ?? b.sha256,
          configDigest: b.sha256,
        },
      ]),
    ),
  );
}

/** One report line an agent logged (its own record of what it told the bridge). */
export interface AgentReportLine {
  readonly host: string;
  readonly at: number;
  readonly phase: string;
  readonly healthy: boolean;
  readonly runningVersion: string | null;
  readonly failedVersion?: string;
  readonly lastError?: string;
}

export interface AgentProcess {
  readonly host: string;
  readonly stateDir: string;
  readonly readyPort: number;
  child: ChildProcess;
  /** resolves with the exit signal/code of the current process */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** starts the agent process again (after a kill) with the same state directory */
  restart(env?: Record<string, string>): void;
  kill(signal?: NodeJS.Signals): void;
}

/** Provisions a host directory with `initial` installed (as a machine image would), then starts its agent. */
export async function newAgentProcess(options: {
  readonly host: string;
  readonly group: string;
  readonly bridgeUrl: string;
  readonly workDir: string;
  readonly initial: TestBundle;
  readonly logFile: string;
  readonly env?: Record<string, string>;
  readonly readinessTimeoutSeconds?: number;
}): Promise<AgentProcess> {
  const stateDir = path.join(options.workDir, options.host);
  await fsp.mkdir(path.join(stateDir, 'versions', options.initial.version), { recursive: true });
  await execFileAsync('tar', [
    '-xzf',
    options.initial.file,
    '-C',
    path.join(stateDir, 'versions', options.initial.version),
  ]);
  await fsp.writeFile(
    path.join(stateDir, 'versions', options.initial.version, '.meshwave-bundle.json'),
    JSON.stringify({
      version: options.initial.version,
      sha256: options.initial.sha256,
      configDigest: options.initial.sha256,
      installedAt: new Date(0).toISOString(),
    }),
  );
  await fsp.symlink(path.join('versions', options.initial.version), path.join(stateDir, 'current'));
  const enrollFile = path.join(stateDir, 'enrollment-token');
  await fsp.writeFile(enrollFile, ENROLLMENT_TOKEN);
  const readyPort = await freePort();
  const args = [
    agentMain,
    '--host',
    options.host,
    '--group',
    options.group,
    '--bridge-url',
    options.bridgeUrl,
    '--state-dir',
    stateDir,
    '--enrollment-token-file',
    enrollFile,
    '--readiness-url',
    `http://127.0.0.1:${readyPort}/healthz/ready`,
    '--readiness-timeout-seconds',
    String(options.readinessTimeoutSeconds ?? 5),
    '--poll-wait-seconds',
    '20',
    '--report-interval-seconds',
    '1',
    '--keep-versions',
    '3',
    '--proxy-log-file',
    path.join(stateDir, 'proxy.log'),
  ];
  const out = fs.openSync(options.logFile, 'a');
  const launch = (env: Record<string, string> = {}): ChildProcess =>
    spawn(process.execPath, args, {
      env: {
        ...process.env,
        LOG_LEVEL: 'info',
        MESHWAVE_TEST_NODE: process.execPath,
        PROXY_READY_PORT: String(readyPort),
        ...options.env,
        ...env,
      },
      stdio: ['ignore', out, out],
    });
  const agent: AgentProcess = {
    host: options.host,
    stateDir,
    readyPort,
    child: launch(),
    exited: Promise.resolve({ code: null, signal: null }),
    restart(env) {
      this.child = launch(env);
      this.exited = exitOf(this.child);
    },
    kill(signal = 'SIGKILL') {
      this.child.kill(signal);
    },
  };
  agent.exited = exitOf(agent.child);
  return agent;
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Stops agents and the proxies they started (each proxy is its own process group, found by pid file). */
export async function stopAgents(agents: readonly AgentProcess[]): Promise<void> {
  for (const a of agents) a.kill('SIGKILL');
  await Promise.all(agents.map((a) => a.exited));
  for (const a of agents) {
    try {
      const { pid } = JSON.parse(await fsp.readFile(path.join(a.stateDir, 'proxy.pid'), 'utf8')) as { pid: number };
      process.kill(-pid, 'SIGKILL');
    } catch {
      // no proxy running
    }
  }
}

/** The report lines of every agent log in `logFile`. */
export async function readReports(logFile: string): Promise<AgentReportLine[]> {
  const lines = (await fsp.readFile(logFile, 'utf8')).split('\n');
  const out: AgentReportLine[] = [];
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    let entry: { msg?: string; host?: string; at?: number; report?: Omit<AgentReportLine, 'host' | 'at'> };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    if (entry.msg !== 'report' || entry.report === undefined || entry.host === undefined || entry.at === undefined)
      continue;
    out.push({ host: entry.host, at: entry.at, ...entry.report });
  }
  return out.sort((a, b) => a.at - b.at);
}

/**
 * The most hosts unavailable at once according to the hosts' own reports: a host is unavailable from a
 * report that is not idle+healthy until its next idle+healthy report.
 */
export function maxConcurrentUnavailable(reports: readonly AgentReportLine[], hosts?: ReadonlySet<string>): number {
  const down = new Set<string>();
  let max = 0;
  for (const r of reports) {
    if (hosts !== undefined && !hosts.has(r.host)) continue;
    if (r.phase === 'idle' && r.healthy) down.delete(r.host);
    else down.add(r.host);
    max = Math.max(max, down.size);
  }
  return max;
}

/** What the host's proxy says it runs (from the binary's own directory), or undefined when it is down. */
export async function proxyVersion(
  port: number,
): Promise<{ version: string; configVersion: string; binaryDir: string } | undefined> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/version`, { signal: AbortSignal.timeout(2000) });
    return (await r.json()) as { version: string; configVersion: string; binaryDir: string };
  } catch {
    return undefined;
  }
}

export async function until<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  ms = 180_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Redis of the real test environment, under a key prefix of its own. No fallback: without the environment
 * this throws TestEnvNotUpError (saying how to start it) and the test fails.
 */
export function newStore(): StateStore {
  const env = loadTestEnv();
  return createRedisStore({ url: env.redis.url, keyPrefix: `it-vm-${process.pid}-${Date.now()}` });
}

/**
 * Kafka of the real test environment, on topics of this run: the bridge's bus (one per bridge instance) and the
 * planner's. No fallback either: without the environment this throws TestEnvNotUpError.
 */
export function newBuses(signing: SigningOptions): { bridgeBus: () => EventBus; planner: EventBus } {
  const env = loadTestEnv();
  const topicNames = {
    commands: `it.vm.commands.${process.pid}`,
    events: `it.vm.events.${process.pid}`,
    dlq: `it.vm.dlq.${process.pid}`,
  };
  const make = (source: string): EventBus =>
    createKafkaBus({
      brokers: env.kafka.brokers,
      source,
      signing,
      topicNames,
      partitions: { commands: 2, events: 2, dlq: 1 },
    });
  return { bridgeBus: () => make('vm-bridge'), planner: make('planner') };
}
