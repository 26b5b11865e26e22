import { createInMemoryBroker, createInMemoryBus, type EventBus } from '@meshwave/bus';
import { MessageType, Topic, UnitFailureReason, type HealthReport } from '@meshwave/contracts';
import { createInMemoryStore } from '@meshwave/store';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ScriptedCluster,
  newFleetWorkloads,
  newRolloutYaml,
} from '../../../../test/integration/planner/scripted-agents.js';
import { createPlanner, type Planner } from './planner.js';

const signing = { keys: [{ id: 'test', secret: 'meshwave-test-signing-key-0123456789abcdef' }], activeKeyId: 'test' };
const FAILING = 'prod-2/team-1/Deployment/svc-5';

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 4_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

type HealthUpdate = Omit<HealthReport, 'generation' | 'observedAt'>;

/** Three scripted clusters; prod-2's unit FAILING reports ProgressDeadlineExceeded on the new revision. */
async function newWorld(): Promise<{ planner: Planner; reportHealth: (r: HealthUpdate) => Promise<void> }> {
  const broker = createInMemoryBroker();
  const busFor = (source: string): EventBus =>
    createInMemoryBus({ broker, source, signing, retry: { initialBackoffMs: 5, maxBackoffMs: 50 } });
  const planner = createPlanner({
    bus: busFor('planner'),
    store: createInMemoryStore(),
    config: { instanceId: 'p1', leaseRenewMs: 50, leaseTtlMs: 500, timerTickMs: 20, resyncAfterMs: 500 },
  });
  const agents = ['prod-1', 'prod-2', 'prod-3'].map(
    (name) =>
      new ScriptedCluster({
        name,
        bus: busFor(`cluster-agent/${name}`),
        workloads: newFleetWorkloads(8),
        failing: new Set(name === 'prod-2' ? [FAILING.slice('prod-2/'.length)] : []),
        failReason: UnitFailureReason.ProgressDeadlineExceeded,
      }),
  );
  for (const a of agents) await a.start();
  await planner.start();
  stops.push(async () => {
    await planner.stop();
    for (const a of agents) await a.stop();
  });
  const healthBus = busFor('cluster-agent/prod-2');
  let generation = 0;
  const reportHealth = async (update: HealthUpdate): Promise<void> => {
    const data: HealthReport = { ...update, generation: ++generation, observedAt: new Date().toISOString() };
    await healthBus.publish([{ topic: Topic.Events, key: 'cluster/prod-2', type: MessageType.Health, data }]);
  };
  await until('leadership', async () => (planner.isLeader() ? true : undefined));
  await until('inventory', async () => ((await planner.fleet()).clusters.length === 3 ? true : undefined));
  return { planner, reportHealth };
}

describe('planner runtime: a Degraded source holds judgement', () => {
  it('Given prod-2 reports itself Degraded (event-loop lag), When its unit passes its progress deadline, Then the wave is held, not failed; once prod-2 is well, the failure is judged', async () => {
    const { planner, reportHealth } = await newWorld();
    await reportHealth({
      source: 'cluster-agent/prod-2',
      units: [],
      degraded: { reason: 'event-loop-lag', lagMs: 12_000 },
    });
    const created = await planner.createRollout({ spec: newRolloutYaml({ onGateFailure: 'rollback-wave' }) }, 'alice');
    const badWave = created.plan.waves.findIndex((w) => w.units.includes(FAILING));

    // Then the wave with the unit past its deadline waits with a held verdict (a state that stays while Degraded)
    const held = await until('a held verdict', async () => {
      const s = await planner.getRollout(created.id);
      return s.gateVerdicts.some((v) => v.wave === badWave && v.reason === 'JudgementHeld') ? s : undefined;
    });
    expect(held.wave).toBe(badWave);
    await planner.idle();
    const still = await planner.getRollout(created.id);
    expect(still.phase).toBe('Running');
    expect(still.gateVerdicts.filter((v) => v.outcome === 'Failed')).toEqual([]);

    // When prod-2 is well again, Then the same report fails the wave
    await reportHealth({ source: 'cluster-agent/prod-2', units: [] });
    const halted = await until('the failure judged', async () => {
      const s = await planner.getRollout(created.id);
      return s.gateVerdicts.some((v) => v.outcome === 'Failed') ? s : undefined;
    });
    expect(halted.gateVerdicts.find((v) => v.outcome === 'Failed')).toMatchObject({
      reason: 'UnitFailed',
      failed: [FAILING],
    });
  });
});
