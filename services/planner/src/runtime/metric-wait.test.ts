import { createInMemoryBroker, createInMemoryBus, type EventBus } from '@meshwave/bus';
import { MessageType, Topic, WavePhase, type HealthReport } from '@meshwave/contracts';
import { createInMemoryStore } from '@meshwave/store';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ScriptedCluster,
  newFleetWorkloads,
  newRolloutYaml,
} from '../../../../test/integration/planner/scripted-agents.js';
import { metricSamplesFor, type MetricObservation, type MetricQuery } from '../core/metric-samples.js';
import { cachedMetricSampler } from '../metrics/cached-sampler.js';
import { eventually } from '../../../../test/support/eventually.js';
import { createPlanner, type Planner } from './planner.js';

const signing = { keys: [{ id: 'test', secret: 'meshwave-test-signing-key-0123456789abcdef' }], activeKeyId: 'test' };

const worlds: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of worlds.splice(0)) await stop();
});

/** a state that stays, polled often (in memory: it comes within milliseconds) */
const until = <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> =>
  eventually(what, probe, { timeoutMs: 4_000, intervalMs: 10 });

/** A Prometheus whose queries answer only when the test says so (one that hangs until its timeout, at most). */
function newHeldBackend(): { fetch: (q: MetricQuery) => Promise<MetricObservation>; answerAll: () => void } {
  const pending: { q: MetricQuery; resolve: (o: MetricObservation) => void }[] = [];
  let answering = false;
  // healthy traffic for every workload of the query: the error-rate gate passes on it
  const healthy = (q: MetricQuery): MetricObservation =>
    metricSamplesFor(
      q,
      q.current.map((t) => ({ workload: `/${t.namespace}/${t.name ?? ''}`, unit: t.unit, requests: 500, errors: 0 })),
      [],
    );
  return {
    fetch: (q) =>
      answering
        ? Promise.resolve(healthy(q))
        : new Promise<MetricObservation>((resolve) => pending.push({ q, resolve })),
    answerAll: () => {
      answering = true;
      for (const p of pending.splice(0)) p.resolve(healthy(p.q));
    },
  };
}

/** One scripted cluster, a planner whose error-rate gate queries the held backend, and a rollout of two waves. */
async function newWorld(soak: string): Promise<{
  planner: Planner;
  agent: ScriptedCluster;
  backend: ReturnType<typeof newHeldBackend>;
  rolloutId: string;
  /** the first unit of the first wave (`cluster/namespace/kind/name`) */
  firstUnit: string;
  reportHealth: (units: HealthReport['units']) => Promise<void>;
}> {
  const broker = createInMemoryBroker();
  const busFor = (source: string): EventBus =>
    createInMemoryBus({ broker, source, signing, retry: { initialBackoffMs: 5, maxBackoffMs: 50 } });
  const backend = newHeldBackend();
  const planner = createPlanner({
    bus: busFor('planner'),
    store: createInMemoryStore(),
    config: {
      instanceId: 'p1',
      leaseRenewMs: 50,
      leaseTtlMs: 500,
      timerTickMs: 20,
      metricSampler: cachedMetricSampler((q) => backend.fetch(q), { maxWindowSeconds: 300, cacheMs: 60_000 }),
    },
  });
  const agent = new ScriptedCluster({
    name: 'prod-1',
    bus: busFor('cluster-agent/prod-1'),
    workloads: newFleetWorkloads(8),
  });
  await agent.start();
  await planner.start();
  const healthBus = busFor('cluster-agent/prod-1');
  worlds.push(async () => {
    await planner.stop();
    await agent.stop();
    await healthBus.close();
  });
  await until('leadership', async () => (planner.isLeader() ? true : undefined));
  await until('inventory', async () => ((await planner.fleet()).clusters.length === 1 ? true : undefined));
  const spec = newRolloutYaml({ soak, waves: [50, 100], onGateFailure: 'halt' }).replace(
    '  waves:\n',
    '  gates:\n    errorRate: { max: 0.01 }\n  waves:\n',
  );
  const created = await planner.createRollout({ spec }, 'alice');
  let generation = 0;
  const reportHealth = async (units: HealthReport['units']): Promise<void> => {
    const data: HealthReport = {
      source: 'cluster-agent/prod-1',
      units,
      generation: ++generation,
      observedAt: new Date().toISOString(),
    };
    await healthBus.publish([{ topic: Topic.Events, key: 'cluster/prod-1', type: MessageType.Health, data }]);
  };
  return { planner, agent, backend, rolloutId: created.id, firstUnit: created.plan.waves[0]!.units[0]!, reportHealth };
}

describe('planner runtime: a halt never waits for a metrics query', () => {
  it('Given a soaking wave with an error-rate gate and a Prometheus query that does not answer, When the agent reports a crash loop, Then the halt is published without waiting for the query', async () => {
    const { planner, agent, rolloutId, firstUnit: unit, reportHealth } = await newWorld('1h');
    await until('the first wave soaking', async () => {
      const s = await planner.getRollout(rolloutId);
      return s.wavePhase === WavePhase.Soaking ? s : undefined;
    });
    const [, namespace, kind, name] = unit.split('/');

    // When the agent reports one of the wave's units crash-looping (the query started meanwhile still hangs)
    await reportHealth([
      {
        namespace: namespace!,
        kind,
        name,
        unavailableReplicas: 1,
        restarts: 5,
        crashLooping: true,
        sidecarMismatch: false,
      },
    ]);

    // Then the agent receives the halt, and the rollout says why
    await until('the halt at the agent', async () => (agent.halts.length > 0 ? true : undefined));
    const halted = await planner.getRollout(rolloutId);
    expect(halted.phase).toBe('Halted');
    expect(halted.gateVerdicts.find((v) => v.outcome === 'Failed')).toMatchObject({
      reason: 'CrashLoop',
      failed: [unit],
    });
  });

  it('Given a wave at its final gate and a Prometheus query that does not answer yet, When the rollout is reconciled, Then no final verdict is judged until the sample arrives, and then it passes', async () => {
    const { planner, backend, rolloutId } = await newWorld('0s');
    // Then the wave waits at its gate without a verdict (never a misleading "Prometheus not configured")
    await until('the first wave at its gate', async () => {
      const s = await planner.getRollout(rolloutId);
      return s.wavePhase === WavePhase.Gating ? s : undefined;
    });
    await planner.idle();
    const waiting = await planner.getRollout(rolloutId);
    expect(waiting).toMatchObject({ phase: 'Running', wave: 0, wavePhase: WavePhase.Gating });
    expect(waiting.gateVerdicts.filter((v) => v.final)).toEqual([]);

    // When the query answers, Then the final verdict is judged on it: the wave passes and the next one starts
    backend.answerAll();
    const next = await until('the second wave', async () => {
      const s = await planner.getRollout(rolloutId);
      return s.wave === 1 ? s : undefined;
    });
    expect(next.gateVerdicts.find((v) => v.final && v.wave === 0)).toMatchObject({ outcome: 'Successful' });
  });
});
