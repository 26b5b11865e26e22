// Metric gates against the real Prometheus of the test env: the planner as a process on real Kafka and Redis,
// scripted agents moving workloads, and an exporter whose Istio series follow each workload's revision.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { createKafkaBus, type EventBus } from '@meshwave/bus';
import { clusterKey, type GateVerdict, type RolloutStatus } from '@meshwave/contracts';
import { PlannerError, createPrometheusClient, promqlOf } from '@meshwave/planner';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadTestEnv, type TestEnv } from '../../support/env.js';
import { newSigningFleet, type SigningFleet } from '../../support/signing-fleet.js';
import { IstioExporter, type IstioBehaviour, type IstioWorkload } from '../../support/istio-exporter.js';
import { ScriptedCluster, newFleetWorkloads, newRolloutYaml } from './scripted-agents.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const nodeBin = `${root}node_modules/.bin/node`;
const TOKEN = 'integration-operator-token';
const FROM = '1-24-5';
const TO = '1-25-2';

let env: TestEnv;
const children: ChildProcess[] = [];
const buses: EventBus[] = [];
const agents: ScriptedCluster[] = [];
const exporters: IstioExporter[] = [];

interface Run {
  readonly id: string;
  readonly topics: Record<string, string>;
  readonly clusters: readonly string[];
  /** Ed25519 keys of the planner and each cluster (on Kafka HMAC is refused, ADR 0046) */
  readonly keys: SigningFleet;
}

const keyFleets: SigningFleet[] = [];

function newRun(): Run {
  const id = randomBytes(4).toString('hex');
  // cluster names unique per run: the `cluster` label keeps this run's series apart in the shared Prometheus
  const clusters = [1, 2, 3].map((i) => `mg-${id}-${i}`);
  const keys = newSigningFleet(clusters);
  keyFleets.push(keys);
  return {
    id,
    topics: { commands: `it-${id}.commands`, events: `it-${id}.events`, dlq: `it-${id}.dlq` },
    clusters,
    keys,
  };
}

async function startPlanner(run: Run, prometheusUrl: string): Promise<string> {
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
      ...run.keys.envFor('planner'),
      MESHWAVE_HOST: '127.0.0.1',
      MESHWAVE_PORT: '0',
      MESHWAVE_INSTANCE_ID: `metric-gates-${run.id}`,
      MESHWAVE_LEASE_TTL_MS: '3000',
      MESHWAVE_RESYNC_MS: '3000',
      MESHWAVE_GATE_RETRY_MS: '1000',
      MESHWAVE_PROMETHEUS_URL: prometheusUrl,
      MESHWAVE_PROMETHEUS_CLUSTER_LABEL: 'cluster',
      MESHWAVE_PROMETHEUS_TIMEOUT_MS: '3000',
      MESHWAVE_METRICS_WINDOW: '1m',
      MESHWAVE_METRICS_CACHE_MS: '500',
      OTEL_SDK_DISABLED: 'true',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise<string>((resolve, reject) => {
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
    child.on('exit', (code) => reject(new Error(`planner exited with ${code}: ${log.slice(-5).join('\n')}`)));
  });
}

async function api<T>(url: string, method: string, path: string, body?: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body !== undefined ? { 'content-type': 'application/yaml' } : {}),
    },
    ...(body !== undefined ? { body } : {}),
  });
  return { status: res.status, body: (await res.json()) as T };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function startAgents(run: Run): Promise<ScriptedCluster[]> {
  const out: ScriptedCluster[] = [];
  for (const name of run.clusters) {
    const bus = createKafkaBus({
      brokers: env.kafka.brokers,
      // as a real agent publishes: its Ed25519 key speaks for `cluster/<name>` only (ADR 0038)
      source: clusterKey(name),
      signing: run.keys.signingFor(name),
      topicNames: run.topics,
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 1000,
    });
    buses.push(bus);
    const agent = new ScriptedCluster({ name, bus, workloads: newFleetWorkloads(8), groupId: `it-${run.id}-${name}` });
    await agent.start();
    agents.push(agent);
    out.push(agent);
  }
  return out;
}

/** Per-workload latency on the old revision: 30..48 ms, different per workload, the same in every run. */
function baseLatency(w: IstioWorkload): number {
  const i = Number(w.name.replace(/\D/g, ''));
  return 30 + ((i * 7) % 10) * 2;
}

/** An exporter whose series follow the revision each scripted agent runs each workload on. */
async function startExporter(
  run: Run,
  fleet: readonly ScriptedCluster[],
  onRevision: (w: IstioWorkload, revision: string) => IstioBehaviour,
): Promise<IstioExporter> {
  const workloads = fleet.flatMap((a) =>
    a.options.workloads.map((w) => ({ cluster: a.options.name, namespace: w.namespace, name: w.name })),
  );
  const revisionOf = (w: IstioWorkload): string =>
    fleet.find((a) => a.options.name === w.cluster)?.revisions.get(`${w.namespace}/Deployment/${w.name}`) ?? FROM;
  const exporter = new IstioExporter(env.prometheus!, `mg-${run.id}`, workloads, (w) => onRevision(w, revisionOf(w)));
  exporters.push(exporter);
  await exporter.start();
  await exporter.scraped();
  return exporter;
}

/**
 * The planner here evaluates a waiting gate every second (MESHWAVE_GATE_RETRY_MS), not every 15 s: unless a test
 * says otherwise, the inconclusive limit is raised in proportion (10 min of waiting, as 40 evaluations would be).
 */
function rolloutYaml(name: string, gates: readonly string[]): string {
  const all = gates.some((g) => g.startsWith('inconclusive:')) ? gates : [...gates, 'inconclusive: { limit: 600 }'];
  return newRolloutYaml({ name, soak: '5s', waves: [25, 100] }).replace(
    '  waves:\n',
    `  gates:\n${all.map((g) => `    ${g}\n`).join('')}  waves:\n`,
  );
}

interface Started {
  readonly url: string;
  readonly fleet: readonly ScriptedCluster[];
  readonly id: string;
}

/** Agents, exporter and planner for one run; the rollout created once the inventory of every agent is in. */
async function startRollout(
  gates: readonly string[],
  onRevision: (w: IstioWorkload, revision: string) => IstioBehaviour,
  prometheusUrl = env.prometheus!.url,
): Promise<Started> {
  const run = newRun();
  const fleet = await startAgents(run);
  await startExporter(run, fleet, onRevision);
  const url = await startPlanner(run, prometheusUrl);
  await until('inventory from every agent', async () =>
    (await api<{ clusters: unknown[] }>(url, 'GET', '/v1/fleet')).body.clusters.length === 3 ? true : undefined,
  );
  const created = await api<{ id: string }>(url, 'POST', '/v1/rollouts', rolloutYaml(`mg-${run.id}`, gates));
  expect(created.status).toBe(201);
  return { url, fleet, id: created.body.id };
}

async function settled(s: Started, phases: readonly string[]): Promise<RolloutStatus> {
  return until(`phase ${phases.join(' or ')}`, async () => {
    const status = (await api<RolloutStatus>(s.url, 'GET', `/v1/rollouts/${s.id}`)).body;
    return phases.includes(status.phase) ? status : undefined;
  });
}

const healthy = (w: IstioWorkload): IstioBehaviour => ({ requests: 50, errorRatio: 0, latencyMs: baseLatency(w) });

beforeAll(() => {
  env = loadTestEnv({ needPrometheus: true });
  execFileSync(nodeBin, [`${root}node_modules/typescript/bin/tsc`, '-b', `${root}services/planner`], {
    stdio: 'inherit',
  });
});

afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const a of agents.splice(0)) await a.stop().catch(() => undefined);
  for (const b of buses.splice(0)) await b.close().catch(() => undefined);
  for (const e of exporters.splice(0)) await e.stop().catch(() => undefined);
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const e of exporters) await e.stop().catch(() => undefined);
  for (const k of keyFleets) k.cleanup();
});

describe('Prometheus client on the real Prometheus', () => {
  it('Given an exporter with 10% 5xx, When the error-rate PromQL runs, Then it sees the ratio and only this run’s workloads', async () => {
    const run = newRun();
    const workloads: IstioWorkload[] = [0, 1].map((i) => ({
      cluster: run.clusters[0]!,
      namespace: 'shop',
      name: `cart-${i}`,
    }));
    const exporter = new IstioExporter(env.prometheus!, `mg-${run.id}`, workloads, () => ({
      requests: 100,
      errorRatio: 0.1,
      latencyMs: 42,
    }));
    exporters.push(exporter);
    await exporter.start();
    await exporter.scraped();
    const client = createPrometheusClient({ url: env.prometheus!.url, timeoutMs: 3000 });
    const [q] = promqlOf(
      [{ unit: `${run.clusters[0]!}/shop`, cluster: run.clusters[0]!, namespace: 'shop' }],
      5,
      'cluster',
    );
    if (q === undefined) throw new Error('a cohort of one namespace has one part');
    const [requests, errors, p99] = await until('two scrapes in the window', async () => {
      const r = await Promise.all([client.query(q.requests), client.query(q.errors), client.query(q.p99)]);
      return r[0].length === 2 && r[1].length === 2 && r[0].every((s) => s.value > 0) ? r : undefined;
    });
    expect(requests.map((s) => s.metric['destination_workload']).sort()).toEqual(['cart-0', 'cart-1']);
    for (const s of requests) {
      const e = errors.find((x) => x.metric['destination_workload'] === s.metric['destination_workload'])!;
      expect(e.value / s.value).toBeCloseTo(0.1, 2);
    }
    // every request took 42 ms: p99 interpolates inside the (40, 45] bucket
    for (const s of p99) {
      expect(s.value).toBeGreaterThan(40);
      expect(s.value).toBeLessThanOrEqual(45);
    }
  });

  it('Given a query Prometheus cannot parse, Then the client throws PROMETHEUS_QUERY_FAILED with its errorType', async () => {
    const client = createPrometheusClient({ url: env.prometheus!.url, timeoutMs: 3000 });
    const error = await client.query('sum by (( istio_requests_total').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PlannerError);
    expect(error).toMatchObject({ code: 'PROMETHEUS_QUERY_FAILED', context: { status: 400, errorType: 'bad_data' } });
  });

  it('Given nothing listening on the port, Then the client throws PROMETHEUS_UNREACHABLE', async () => {
    const client = createPrometheusClient({ url: `http://127.0.0.1:${await closedPort()}`, timeoutMs: 3000 });
    await expect(client.query('up')).rejects.toMatchObject({ code: 'PROMETHEUS_UNREACHABLE' });
  });
});

async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function finalMetricVerdicts(s: RolloutStatus, source: string): GateVerdict[] {
  return s.gateVerdicts.filter((v) => v.source === source);
}

describe('planner metric gates on Kafka, Redis and Prometheus', () => {
  it('Given gates.errorRate max 5% and new-revision workloads answering 20% 503, When the canary soaks, Then the wave halts, is rolled back, and the next wave never starts', async () => {
    const s = await startRollout(['errorRate: { max: 0.05 }'], (w, revision) => ({
      ...healthy(w),
      errorRatio: revision === TO ? 0.2 : 0,
    }));
    const done = await settled(s, ['Halted', 'Completed', 'Failed', 'RolledBack']);
    expect(done.phase).toBe('Halted');
    expect(done.wave).toBe(0);
    const failed = finalMetricVerdicts(done, 'prometheus-error-rate').find((v) => v.outcome === 'Failed');
    expect(failed?.reason).toBe('ErrorRateAboveMax');
    // the failing units are named as the plan names them
    expect(failed?.failed.length).toBeGreaterThan(0);
    expect(failed?.failed.every((u) => /^mg-[0-9a-f]+-\d\/team-\d\/Deployment\/svc-\d+$/.test(u))).toBe(true);
    expect(failed?.message).toMatch(/^error ratio (19|20|21)\.\d% > 5\.00% \(\d+ 5xx of \d+ requests in \d+s\) on mg-/);
    expect(done.transitions.map((t) => t.trigger)).toEqual(
      expect.arrayContaining(['gate-failed', 'rollback-started', 'wave-rolled-back']),
    );
    // onGateFailure=rollback-wave ran: every agent got a halt, the canary is back on `from`, wave 1 never went out
    expect(s.fleet.some((a) => a.halts.length > 0)).toBe(true);
    const [canary, rest] = done.waveStatuses;
    const u = canary!.units;
    expect(u.pending + u.moving + u.converged + u.failed).toBe(6);
    expect(rest!.state).not.toBe('passed');
    expect(s.fleet.flatMap((a) => [...a.revisions.values()]).every((r) => r === FROM)).toBe(true);
  });

  it('Given the same gate and new-revision workloads answering 0.5% 503, Then every wave passes with the measured ratio in the verdicts', async () => {
    const s = await startRollout(['errorRate: { max: 0.05 }'], (w, revision) => ({
      ...healthy(w),
      errorRatio: revision === TO ? 0.005 : 0,
    }));
    const done = await settled(s, ['Halted', 'Completed', 'Failed', 'RolledBack']);
    expect(done.phase).toBe('Completed');
    const finals = done.gateVerdicts.filter((v) => v.final && v.outcome === 'Successful');
    expect(finals.map((v) => v.wave)).toEqual([0, 1]);
    for (const v of finals) expect(v.message).toMatch(/error ratio 0\.\d+% <= 5\.00% \([1-9]\d* 5xx of \d+ requests/);
    expect(s.fleet.flatMap((a) => [...a.revisions.values()]).every((r) => r === TO)).toBe(true);
  });

  it('Given gates.latencyP99 +50% with mann-whitney at 0.05 and a new revision 4x slower, Then the canary wave halts naming both cohorts and the test', async () => {
    const s = await startRollout(
      ['latencyP99: { maxIncrease: 50% }', 'compare: { test: mann-whitney, alpha: 0.05 }'],
      (w, revision) => ({ ...healthy(w), latencyMs: baseLatency(w) * (revision === TO ? 4 : 1) }),
    );
    const done = await settled(s, ['Halted', 'Completed', 'Failed', 'RolledBack']);
    expect(done.phase).toBe('Halted');
    expect(done.wave).toBe(0);
    const failed = finalMetricVerdicts(done, 'prometheus-latency').find((v) => v.outcome === 'Failed');
    expect(failed?.reason).toBe('LatencyIncreaseAboveMax');
    expect(failed?.message).toMatch(
      /^p99 median \d+ms over 6 new-revision workloads vs \d+(\.\d)?ms over 18 old-revision workloads \(\d+s\): \+\d+\.\d% > \+50%, Mann-Whitney U=108 p=\S+ \((exact|normal)\) < alpha 0\.05/,
    );
    expect(s.fleet.flatMap((a) => [...a.revisions.values()]).every((r) => r === FROM)).toBe(true);
  });

  it('Given the same latency gate and a new revision as fast as the old one, Then every wave passes, the last against its own workloads before the wave', async () => {
    const s = await startRollout(
      ['latencyP99: { maxIncrease: 50% }', 'compare: { test: mann-whitney, alpha: 0.05 }'],
      healthy,
    );
    const done = await settled(s, ['Halted', 'Completed', 'Failed', 'RolledBack']);
    expect(done.phase).toBe('Completed');
    const finals = done.gateVerdicts.filter((v) => v.final && v.outcome === 'Successful');
    expect(finals.map((v) => v.wave)).toEqual([0, 1]);
    expect(finals[0]!.message).toMatch(/over 6 new-revision workloads vs \S+ over 18 old-revision workloads/);
    expect(finals[1]!.message).toMatch(
      /over 18 new-revision workloads vs \S+ over 18 the same workloads before the wave/,
    );
  });

  it('Given a Prometheus URL nobody answers on, Then the final gate is an Error naming PROMETHEUS_UNREACHABLE and the wave waits instead of passing', async () => {
    const s = await startRollout(['errorRate: { max: 0.05 }'], healthy, `http://127.0.0.1:${await closedPort()}`);
    const waiting = await until('an Error verdict', async () => {
      const status = (await api<RolloutStatus>(s.url, 'GET', `/v1/rollouts/${s.id}`)).body;
      return status.gateVerdicts.some((v) => v.final && v.outcome === 'Error') ? status : undefined;
    });
    expect(waiting).toMatchObject({ phase: 'Running', wave: 0, wavePhase: 'Gating' });
    const error = waiting.gateVerdicts.find((v) => v.final && v.outcome === 'Error')!;
    expect(error).toMatchObject({ reason: 'MetricsUnavailable', source: 'prometheus-error-rate' });
    expect(error.message).toContain('PROMETHEUS_UNREACHABLE');
    expect(waiting.gateVerdicts.some((v) => v.final && v.outcome === 'Successful')).toBe(false);
    expect(waiting.waveStatuses[1]!.state).not.toBe('passed');
  });

  it('Given a Prometheus URL nobody answers on and gates.inconclusive.limit 3, Then after 3 evaluations that cannot judge the rollout pauses for a person with the reason, never passing', async () => {
    const s = await startRollout(
      ['errorRate: { max: 0.05 }', 'inconclusive: { limit: 3 }'],
      healthy,
      `http://127.0.0.1:${await closedPort()}`,
    );
    const paused = await settled(s, ['Paused', 'Completed', 'Halted']);
    expect(paused).toMatchObject({ phase: 'Paused', wave: 0 });
    expect(paused.reason).toMatch(/^paused for a person: the final gate of wave 0 could not judge 3 times in a row/);
    expect(paused.reason).toContain('PROMETHEUS_UNREACHABLE');
    expect(paused.transitions.at(-1)).toMatchObject({
      trigger: 'inconclusive-limit',
      from: 'Running/Gating',
      to: 'Paused',
    });
    const finals = paused.gateVerdicts.filter((v) => v.final);
    expect(finals).toHaveLength(3);
    expect(finals.every((v) => v.outcome === 'Error' || v.outcome === 'Inconclusive')).toBe(true);
  });
});
