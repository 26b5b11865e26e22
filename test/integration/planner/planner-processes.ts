// Planner processes on the test env's Kafka and Redis, with scripted agents: what the planner integration tests
// share (a run's topics, a planner process, its API, waiting for a state, the leader).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createKafkaBus, type EventBus } from '@meshwave/bus';
import type { RolloutStatus } from '@meshwave/contracts';
import { afterEach, beforeAll } from 'vitest';
import { loadTestEnv, type TestEnv } from '../../support/env.js';
import { ScriptedCluster, newFleetWorkloads } from './scripted-agents.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
export const nodeBin = `${root}node_modules/.bin/node`;
export const signingKeys = [{ id: 'it', secret: 'meshwave-integration-signing-key-0123456789' }];
const signing = { keys: signingKeys, activeKeyId: 'it' };
const TOKEN = 'integration-operator-token';
const auth = { authorization: `Bearer ${TOKEN}` };

export interface PlannerProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly url: string;
  readonly log: string[];
}

export interface Run {
  readonly id: string;
  readonly topics: Record<string, string>;
}

export function newRun(): Run {
  const id = randomBytes(4).toString('hex');
  return { id, topics: { commands: `it-${id}.commands`, events: `it-${id}.events`, dlq: `it-${id}.dlq` } };
}

/** Starts the compiled planner as a process of this run; `extraEnv` adds or overrides its settings. */
export async function startPlanner(
  env: TestEnv,
  name: string,
  run: Run,
  extraEnv: Record<string, string> = {},
): Promise<PlannerProcess> {
  const log: string[] = [];
  const child = spawn(nodeBin, [`${root}services/planner/dist/main.js`], {
    env: {
      ...process.env,
      MESHWAVE_KAFKA_BROKERS: env.kafka.brokers.join(','),
      MESHWAVE_KAFKA_SESSION_TIMEOUT_MS: '6000',
      MESHWAVE_EVENTS_GROUP_ID: `it-${run.id}-planner`,
      MESHWAVE_REDIS_URL: env.redis.url,
      MESHWAVE_REDIS_KEY_PREFIX: `it-${run.id}`,
      MESHWAVE_TOPIC_COMMANDS: run.topics['commands'],
      MESHWAVE_TOPIC_EVENTS: run.topics['events'],
      MESHWAVE_TOPIC_DLQ: run.topics['dlq'],
      MESHWAVE_TOKENS: JSON.stringify([{ name: 'it-operator', role: 'admin', token: TOKEN }]),
      MESHWAVE_SIGNING_KEYS: JSON.stringify(signingKeys),
      MESHWAVE_HOST: '127.0.0.1',
      MESHWAVE_PORT: '0',
      MESHWAVE_INSTANCE_ID: name,
      MESHWAVE_LEASE_TTL_MS: '3000',
      MESHWAVE_RESYNC_MS: '3000',
      OTEL_SDK_DISABLED: 'true',
      LOG_LEVEL: 'info',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    const onLine = (chunk: Buffer): void => {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim() === '') continue;
        log.push(line);
        const m = /"address":"(http:\/\/[^"]+)".*planner listening/.exec(line);
        if (m) resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onLine);
    child.stderr!.on('data', onLine);
    child.on('exit', (code) => reject(new Error(`planner ${name} exited with ${code}: ${log.slice(-5).join('\n')}`)));
  });
  return { name, child, url, log };
}

export async function api<T>(
  p: PlannerProcess,
  method: string,
  path: string,
  body?: string,
  contentType = 'application/yaml',
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${p.url}${path}`, {
    method,
    headers: { ...auth, ...(body !== undefined ? { 'content-type': contentType } : {}) },
    ...(body !== undefined ? { body } : {}),
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** Polls `probe` until it answers something (a state that stays), or fails after `timeoutMs`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The rollout at `path` once Completed (its status then). */
export function untilCompleted(p: PlannerProcess, path: string): Promise<RolloutStatus> {
  return until(
    'completion',
    async () => {
      const s = (await api<RolloutStatus>(p, 'GET', path)).body;
      return s.phase === 'Completed' ? s : undefined;
    },
    90_000,
  );
}

export async function leaderOf(
  ps: readonly PlannerProcess[],
): Promise<{ p: PlannerProcess; epoch: number } | undefined> {
  for (const p of ps) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
    const r = await api<{ leader?: boolean; epoch?: number; status: string }>(p, 'GET', '/readyz');
    if (r.body.leader && r.body.status === 'ready') return { p, epoch: r.body.epoch ?? 0 };
  }
  return undefined;
}

/** Three scripted agents (it-1..3, eight workloads each) on Kafka; their buses go to `buses` for closing. */
export async function startKafkaAgents(
  env: TestEnv,
  run: Run,
  buses: EventBus[],
  options: { convergeMs: number; failing?: ReadonlySet<string>; heartbeatMs?: number },
): Promise<ScriptedCluster[]> {
  const out: ScriptedCluster[] = [];
  const failing = options.failing ?? new Set<string>();
  for (const name of ['it-1', 'it-2', 'it-3']) {
    const bus = createKafkaBus({
      brokers: env.kafka.brokers,
      source: `cluster-agent/${name}`,
      signing,
      topicNames: run.topics,
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 1000,
    });
    buses.push(bus);
    const agent = new ScriptedCluster({
      name,
      bus,
      workloads: newFleetWorkloads(8),
      convergeMs: options.convergeMs,
      groupId: `it-${run.id}-${name}`,
      failing: new Set([...failing].filter((f) => f.startsWith(`${name}/`)).map((f) => f.slice(name.length + 1))),
      ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}),
    });
    await agent.start();
    out.push(agent);
  }
  return out;
}

/** What a planner integration test file starts, stopped after each test. */
export interface PlannerFleet {
  readonly env: () => TestEnv;
  readonly planners: PlannerProcess[];
  readonly buses: EventBus[];
  readonly agents: ScriptedCluster[];
}

/** Registers the hooks of a test file on planner processes: the test env and the compiled planner before, cleanup after each test. */
export function usePlannerFleet(): PlannerFleet {
  let env: TestEnv | undefined;
  const fleet: PlannerFleet = {
    env: () => {
      if (env === undefined) throw new Error('the test env is not loaded');
      return env;
    },
    planners: [],
    buses: [],
    agents: [],
  };
  beforeAll(() => {
    env = loadTestEnv();
    execFileSync(nodeBin, [`${root}node_modules/typescript/bin/tsc`, '-b', `${root}services/planner`], {
      stdio: 'inherit',
    });
  });
  afterEach(async () => {
    for (const p of fleet.planners.splice(0)) p.child.kill('SIGKILL');
    for (const a of fleet.agents.splice(0)) await a.stop().catch(() => undefined);
    for (const b of fleet.buses.splice(0)) await b.close().catch(() => undefined);
  });
  return fleet;
}

/** A new run: three scripted agents, one planner process (with `extraEnv`) leading, every agent's inventory in. */
export async function startFleet(
  fleet: PlannerFleet,
  name: string,
  options: { heartbeatMs?: number; extraEnv?: Record<string, string> } = {},
): Promise<{ p: PlannerProcess; agents: ScriptedCluster[] }> {
  const run = newRun();
  const agents = await startKafkaAgents(fleet.env(), run, fleet.buses, {
    convergeMs: 0,
    ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}),
  });
  fleet.agents.push(...agents);
  const p = await startPlanner(fleet.env(), name, run, options.extraEnv);
  fleet.planners.push(p);
  await until('leadership', () => leaderOf([p]));
  await until('inventory from every agent', async () =>
    (await api<{ clusters: unknown[] }>(p, 'GET', '/v1/fleet')).body.clusters.length === 3 ? true : undefined,
  );
  return { p, agents };
}
