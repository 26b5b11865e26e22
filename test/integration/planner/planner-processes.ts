// Planner processes on real Kafka and Redis, and scripted agents on their own buses: what the planner's process
// tests share. Each process and agent signs with its own Ed25519 key (ADR 0038).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createKafkaBus, type EventBus } from '@meshwave/bus';
import { clusterKey } from '@meshwave/contracts';
import type { RolloutStatus } from '@meshwave/contracts';
import { afterEach, beforeAll } from 'vitest';
import { loadTestEnv, type TestEnv } from '../../support/env.js';
import { newSigningFleet } from '../../support/signing-fleet.js';
import { ScriptedCluster, newFleetWorkloads } from './scripted-agents.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const nodeBin = `${root}node_modules/.bin/node`;
// Ed25519 as in production (ADR 0038): the planner process and each scripted agent hold their own keys.
export const keys = newSigningFleet(['it-1', 'it-2', 'it-3']);
export const TOKEN = 'integration-operator-token';
const auth = { authorization: `Bearer ${TOKEN}` };

export interface PlannerProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly url: string;
  readonly log: string[];
}

export const processes: PlannerProcess[] = [];
export const buses: EventBus[] = [];
export const agents: ScriptedCluster[] = [];

export interface Run {
  readonly id: string;
  readonly topics: Record<string, string>;
}

export function newRun(): Run {
  const id = randomBytes(4).toString('hex');
  return { id, topics: { commands: `it-${id}.commands`, events: `it-${id}.events`, dlq: `it-${id}.dlq` } };
}

/** Every planner's log lines, for the scan for secrets (a process's log outlives its test). */
export const plannerLogs: string[][] = [];

export async function startPlanner(
  env: TestEnv,
  name: string,
  run: Run,
  extraEnv: Record<string, string> = {},
): Promise<PlannerProcess> {
  const log: string[] = [];
  plannerLogs.push(log);
  const child = spawn(nodeBin, [`${root}services/planner/dist/main.js`], {
    env: {
      ...process.env,
      MESHWAVE_KAFKA_BROKERS: env.kafka.brokers.join(','),
      MESHWAVE_KAFKA_SESSION_TIMEOUT_MS: '6000',
      MESHWAVE_EVENTS_GROUP_ID: `it-${run.id}-planner`,
      MESHWAVE_REDIS_URL: env.redis.url,
      MESHWAVE_REDIS_KEY_PREFIX: `it-${run.id}`,
      MESHWAVE_TOPIC_COMMANDS: run.topics.commands,
      MESHWAVE_TOPIC_EVENTS: run.topics.events,
      MESHWAVE_TOPIC_DLQ: run.topics.dlq,
      MESHWAVE_TOKENS: JSON.stringify([{ name: 'it-operator', role: 'admin', token: TOKEN }]),
      ...keys.envFor('planner'),
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
  const p = { name, child, url, log };
  processes.push(p);
  return p;
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

export async function startAgents(
  env: TestEnv,
  run: Run,
  convergeMs: number,
  failing: ReadonlySet<string> = new Set(),
  heartbeatMs?: number,
): Promise<ScriptedCluster[]> {
  const out: ScriptedCluster[] = [];
  for (const name of ['it-1', 'it-2', 'it-3']) {
    const bus = createKafkaBus({
      brokers: env.kafka.brokers,
      source: clusterKey(name),
      signing: keys.signingFor(name),
      topicNames: run.topics,
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 1000,
    });
    buses.push(bus);
    const agent = new ScriptedCluster({
      name,
      bus,
      workloads: newFleetWorkloads(8),
      convergeMs,
      groupId: `it-${run.id}-${name}`,
      failing: new Set([...failing].filter((f) => f.startsWith(`${name}/`)).map((f) => f.slice(name.length + 1))),
      ...(heartbeatMs !== undefined ? { heartbeatMs } : {}),
    });
    await agent.start();
    out.push(agent);
    agents.push(agent);
  }
  return out;
}

/** Builds the planner service the processes run (its dist/). */
export function buildPlanner(): void {
  execFileSync(nodeBin, [`${root}node_modules/typescript/bin/tsc`, '-b', `${root}services/planner`], {
    stdio: 'inherit',
  });
}

/** Stops every planner process, scripted agent and bus started so far. */
export async function stopAll(): Promise<void> {
  for (const p of processes.splice(0)) p.child.kill('SIGKILL');
  for (const a of agents.splice(0)) await a.stop().catch(() => undefined);
  for (const b of buses.splice(0)) await b.close().catch(() => undefined);
}

/** What a planner integration test file starts: the test env, loaded before its tests. */
export interface PlannerFleet {
  readonly env: () => TestEnv;
}

/** Registers a test file's hooks: the test env and the compiled planner before, everything stopped after each test. */
export function usePlannerFleet(): PlannerFleet {
  let env: TestEnv | undefined;
  beforeAll(() => {
    env = loadTestEnv();
    buildPlanner();
  });
  afterEach(() => stopAll());
  return {
    env: () => {
      if (env === undefined) throw new Error('the test env is not loaded');
      return env;
    },
  };
}

/** A new run: three scripted agents, one planner process (with `extraEnv`) leading, every agent's inventory in. */
export async function startFleet(
  fleet: PlannerFleet,
  name: string,
  options: { heartbeatMs?: number; extraEnv?: Record<string, string> } = {},
): Promise<{ p: PlannerProcess; agents: ScriptedCluster[] }> {
  const run = newRun();
  const started = await startAgents(fleet.env(), run, 0, new Set(), options.heartbeatMs);
  const p = await startPlanner(fleet.env(), name, run, options.extraEnv);
  await until('leadership', () => leaderOf([p]));
  await until('inventory from every agent', async () =>
    (await api<{ clusters: unknown[] }>(p, 'GET', '/v1/fleet')).body.clusters.length === 3 ? true : undefined,
  );
  return { p, agents: started };
}
