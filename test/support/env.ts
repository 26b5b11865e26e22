// Connection details of the real test environment (test/env/env.ts), read from one place: env.json in
// ${MESHWAVE_ENV_DIR:-~/.cache/meshwave/run}. Tests never hard-code ports.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  parseEnvState,
  type ClusterState,
  type EnvState,
  type HelmState,
  type InjectorState,
  type JaegerState,
  type KafkaState,
  type PrometheusState,
  type RedisState,
} from './env-state.ts';

const execFileAsync = promisify(execFile);

/** The entry script of the environment. */
export const envScript = fileURLToPath(new URL('../env/env.ts', import.meta.url));

// The shapes are declared once, with env.json's schema (./env-state.ts); these are the names the tests use.
export type KafkaEnv = KafkaState;
export type RedisEnv = RedisState;
export type ClusterEnv = ClusterState;
export type InjectorEnv = InjectorState;
export type PrometheusEnv = PrometheusState;
export type HelmEnv = HelmState;
export type JaegerEnv = JaegerState;

/** env.json of an environment that is up: Kafka and Redis are always there. */
export type TestEnv = EnvState & { readonly kafka: KafkaState; readonly redis: RedisState };

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
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (cause) {
    throw new TestEnvNotUpError(
      `the real test environment is not up (${file} unreadable): run \`npm run env:up\` (node test/env/env.ts up)`,
      file,
      { cause },
    );
  }
  const env = parseEnvState(text, file);
  if (!env.ready || !env.kafka || !env.redis) {
    throw new TestEnvNotUpError(
      `the test environment in ${file} is still coming up (or its up failed): run \`npm run env:up\``,
      file,
    );
  }
  const need = options.needClusters ?? 0;
  if (env.clusters.length < need) {
    throw new TestEnvNotUpError(
      `the test environment has ${env.clusters.length} clusters, this test needs ${need}: run \`node test/env/env.ts up --clusters ${need}\``,
      file,
    );
  }
  if (options.needPrometheus === true && env.prometheus === undefined) {
    throw new TestEnvNotUpError(
      `the test environment in ${file} has no Prometheus (it predates it): run \`npm run env:up\``,
      file,
    );
  }
  return { ...env, kafka: env.kafka, redis: env.redis };
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

/** loadTestEnv() for tests that assert traces: the Jaeger part, or a TestEnvNotUpError saying how to get it. */
export function loadJaegerEnv(): JaegerEnv {
  const { jaeger } = loadTestEnv();
  if (jaeger === undefined) {
    throw new TestEnvNotUpError(
      `the test environment in ${testEnvFile()} has no Jaeger (it predates it): run \`npm run env:up\` (it builds Jaeger from test/env/go/jaeger)`,
      testEnvFile(),
    );
  }
  return jaeger;
}

/** Runs `node test/env/env.ts <args>` and returns its stdout. */
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
