// Connection details of the real test environment (test/env/env.mjs), read from one place: env.json in
// ${MESHWAVE_ENV_DIR:-~/.cache/meshwave/run}. Tests never hard-code ports.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The entry script of the environment. */
export const envScript = fileURLToPath(new URL('../env/env.mjs', import.meta.url));

/** Kafka, one KRaft broker+controller on 127.0.0.1. */
export interface KafkaEnv {
  readonly brokers: readonly string[];
  readonly port: number;
  readonly controllerPort: number;
  readonly pid: number;
  readonly version: string;
  readonly dataDir: string;
  readonly logFile: string;
}

/** Redis with AOF on (appendfsync always), our own process. */
export interface RedisEnv {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly pid: number;
  readonly version: string;
  readonly logFile: string;
}

/** One simulated cluster: etcd + kube-apiserver + controller-manager + scheduler + kwok. */
export interface ClusterEnv {
  /** `kind-1`, `kind-2`, ... */
  readonly name: string;
  /** admin kubeconfig (client certificate, O=system:masters) */
  readonly kubeconfig: string;
  /** `https://127.0.0.1:PORT` */
  readonly server: string;
  /** CA of the apiserver's serving certificate */
  readonly caFile: string;
  /** certificates and keys of this cluster (client CA: client-ca.crt/.key, to mint more identities) */
  readonly certDir: string;
  /** names of the kwok fake nodes (tainted `kwok.x-k8s.io/node=fake:NoSchedule`) */
  readonly nodes: readonly string[];
  readonly kubernetesVersion: string;
}

/** The Istio sidecar-injector double, one HTTPS server for every revision (path per revision). */
export interface InjectorEnv {
  readonly url: string;
  /** base64 PEM of the CA that signed the injector's serving certificate (for webhook caBundle) */
  readonly caBundle: string;
  readonly port: number;
  readonly pid: number;
}

/**
 * Prometheus on 127.0.0.1 with file-based service discovery: a test serves its own /metrics exporter and writes
 * `<targetsDir>/<unique name>.json` (`[{ "targets": ["127.0.0.1:PORT"], "labels": {...} }]`); it is scraped every
 * `scrapeIntervalSeconds` until the file is removed.
 */
export interface PrometheusEnv {
  /** `http://127.0.0.1:PORT` (HTTP API under /api/v1) */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly targetsDir: string;
  readonly scrapeIntervalSeconds: number;
  readonly version: string;
  readonly logFile: string;
}

/** helm, built from its Go module (test/env/go/helm) and cached by version, for the chart tests. */
export interface HelmEnv {
  readonly bin: string;
  readonly version: string;
}

export interface TestEnv {
  readonly stateDir: string;
  readonly ready: boolean;
  readonly kafka: KafkaEnv;
  readonly redis: RedisEnv;
  /** absent in an env.json written before Prometheus joined the environment (run `up` again) */
  readonly prometheus?: PrometheusEnv;
  readonly clusters: readonly ClusterEnv[];
  readonly injector?: InjectorEnv;
  /** absent in an env.json written before helm joined the environment (run `up` again) */
  readonly helm?: HelmEnv;
}

// A declared field rather than a constructor parameter property: the benchmarks import this file and Node runs
// them with type stripping, which accepts erasable syntax only.
export class TestEnvNotUpError extends Error {
  readonly code = 'TEST_ENV_NOT_UP';
  readonly envFile: string;
  constructor(message: string, envFile: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TestEnvNotUpError';
    this.envFile = envFile;
  }
}

export function testEnvFile(): string {
  const dir = process.env['MESHWAVE_ENV_DIR'] ?? path.join(os.homedir(), '.cache', 'meshwave', 'run');
  return path.join(dir, 'env.json');
}

/**
 * Reads env.json. Throws TestEnvNotUpError saying how to start the environment when it is missing or was
 * written by an `up` that has not finished.
 */
export function loadTestEnv(options: { needClusters?: number; needPrometheus?: boolean } = {}): TestEnv {
  const file = testEnvFile();
  let env: TestEnv;
  try {
    env = JSON.parse(fs.readFileSync(file, 'utf8')) as TestEnv;
  } catch (cause) {
    throw new TestEnvNotUpError(
      `the real test environment is not up (${file} unreadable): run \`npm run env:up\` (node test/env/env.mjs up)`,
      file,
      { cause },
    );
  }
  if (!env.ready) {
    throw new TestEnvNotUpError(
      `the test environment in ${file} is still coming up (or its up failed): run \`npm run env:up\``,
      file,
    );
  }
  const need = options.needClusters ?? 0;
  if (env.clusters.length < need) {
    throw new TestEnvNotUpError(
      `the test environment has ${env.clusters.length} clusters, this test needs ${need}: run \`node test/env/env.mjs up --clusters ${need}\``,
      file,
    );
  }
  if (options.needPrometheus === true && env.prometheus === undefined) {
    throw new TestEnvNotUpError(
      `the test environment in ${file} has no Prometheus (it predates it): run \`npm run env:up\``,
      file,
    );
  }
  return env;
}

/** loadTestEnv() for the chart tests: helm, present and built, or a TestEnvNotUpError saying how to get it. */
export function loadHelmEnv(): HelmEnv {
  const file = testEnvFile();
  const { helm } = loadTestEnv();
  if (helm === undefined || !fs.existsSync(helm.bin)) {
    throw new TestEnvNotUpError(
      `the test environment in ${file} has no helm${helm ? ` (${helm.bin} is gone)` : ''}: run \`npm run env:up\` (it builds helm from test/env/go/helm)`,
      file,
    );
  }
  return helm;
}

/** loadTestEnv() for tests that query Prometheus: the Prometheus part, always present. */
export function loadPrometheusEnv(): PrometheusEnv {
  const env = loadTestEnv({ needPrometheus: true });
  return env.prometheus!;
}

/** Runs `node test/env/env.mjs <args>` and returns its stdout. */
export async function envCli(...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, [envScript, ...args], {
    maxBuffer: 16 * 1024 * 1024,
    timeout: 300_000,
  });
  return stdout;
}

/**
 * Kubeconfig of a new client-certificate identity (CN=user, O=groups) in `cluster`, signed by the cluster's
 * client CA; it can do only what RBAC grants that user or those groups.
 */
export async function userKubeconfig(
  cluster: ClusterEnv,
  user: string,
  groups: readonly string[] = [],
): Promise<string> {
  return (await envCli('kubeconfig', cluster.name, user, ...groups)).trim();
}

/** Stops Redis (SIGTERM: final AOF fsync) and starts it again on the same port and data; returns the new details. */
export async function restartRedis(): Promise<RedisEnv> {
  await envCli('restart', 'redis');
  return loadTestEnv().redis;
}

/** Kills Redis with SIGKILL (no shutdown hook), then starts it again: what AOF with fsync always must survive. */
export async function crashRedis(): Promise<RedisEnv> {
  const { pid } = loadTestEnv().redis;
  process.kill(pid, 'SIGKILL');
  await envCli('start', 'redis');
  return loadTestEnv().redis;
}

/** Restarts the Kafka broker on the same ports and data. */
export async function restartKafka(): Promise<KafkaEnv> {
  await envCli('restart', 'kafka');
  return loadTestEnv().kafka;
}

export async function stopKafka(): Promise<void> {
  await envCli('stop', 'kafka');
}

export async function startKafka(): Promise<KafkaEnv> {
  await envCli('start', 'kafka');
  return loadTestEnv().kafka;
}

let kafkaWarningFilterInstalled = false;

/**
 * kafkajs 2.2.4 schedules a timer with a negative delay in its request queue (tulios/kafkajs#1751); Node 24
 * clamps it to 1 ms, as older Node did silently, but now also emits `TimeoutNegativeWarning`. The
 * behaviour is unchanged, so the warning is dropped, only when it comes from kafkajs; every other warning
 * still reaches the default handler.
 */
export function suppressKafkaJsTimeoutNegativeWarning(): void {
  if (kafkaWarningFilterInstalled) return;
  kafkaWarningFilterInstalled = true;
  const original = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    const name = warning instanceof Error ? warning.name : type;
    if (name === 'TimeoutNegativeWarning' && /kafkajs/.test(new Error().stack ?? '')) return;
    original(warning, ...rest);
  }) as typeof process.emitWarning;
}
