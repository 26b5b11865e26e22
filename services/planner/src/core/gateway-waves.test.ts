import { Inventory, TransitionTrigger, type ClusterDesiredState } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { newGatewayInventory, newHarness, type Harness, type SpecOverrides } from './engine-harness.js';
import { buildGatewayStatus } from '../views/gateway-status.js';

// The gateway steps as engine waves (ADR 0050), driven by scripted agents that report each gateway at its share.

function newGatewayHarness(overrides: SpecOverrides = {}): Harness {
  return newHarness(
    { gateways: { steps: [10, 50, 100], soak: '5m' }, ...overrides } as SpecOverrides,
    newGatewayInventory(),
  );
}

/** steps the engine (jumping to each wake-up) until `done` holds */
function runTo(h: Harness, done: (h: Harness) => boolean): void {
  for (let i = 0; i < 400 && !done(h); i++) {
    h.reconcile();
    if (done(h)) return;
    if (h.last?.changed || h.last?.commands.length) continue;
    const wake = h.last?.wakeAt;
    if (wake === undefined) return;
    h.now = new Date(Math.max(wake.getTime(), h.now.getTime() + 1));
  }
}

const sentGateways = (h: Harness): { cluster: string; percent: number; removeOld: boolean; wave: number }[] =>
  h.fleet.published
    .filter((c) => c.kind === 'cluster')
    .flatMap((c) =>
      ((c.data as ClusterDesiredState).gateways ?? []).map((g) => ({
        cluster: (c.data as ClusterDesiredState).cluster,
        percent: g.percent,
        removeOld: g.removeOld,
        wave: c.data.wave,
      })),
    );

describe('engine: gateway steps are waves after the workload waves (ADR 0050)', () => {
  it('Given a plan of 3 waves and 3 gateway steps, When every unit and gateway converges, Then each step goes out only after the last workload wave passed its gate, is soaked and gated on its own, and the completed rollout removes the old Deployments', () => {
    const h = newGatewayHarness();
    expect(h.record.plan.gatewaySteps.map((s) => s.name)).toEqual(['gateways-10%', 'gateways-50%', 'gateways-100%']);

    h.runUntil(['Completed']);

    expect(h.state.phase).toBe('Completed');
    const waves = h.record.plan.waves.length;
    expect(h.triggers().slice(-12)).toEqual([
      `dispatched:${waves}`,
      `converged:${waves}`,
      `soak-elapsed:${waves}`,
      `gate-passed:${waves}`,
      `dispatched:${waves + 1}`,
      `converged:${waves + 1}`,
      `soak-elapsed:${waves + 1}`,
      `gate-passed:${waves + 1}`,
      `dispatched:${waves + 2}`,
      `converged:${waves + 2}`,
      `soak-elapsed:${waves + 2}`,
      `last-gate-passed:${waves + 2}`,
    ]);
    // no gateway is named before the last workload wave passed its gate
    const sent = sentGateways(h);
    expect(sent.every((g) => g.wave >= waves)).toBe(true);
    for (const cluster of ['prod-1', 'prod-2'])
      expect(h.fleet.gatewayShares.get(`${cluster}/istio-ingress/ingressgateway`)).toEqual([10, 50, 100]);
    // each step soaked its 5 minutes: its final verdict comes 5 minutes after it converged
    const finals = h.state.verdicts.filter((v) => v.final && v.wave >= waves);
    expect(finals.map((v) => v.wave)).toEqual([waves, waves + 1, waves + 2]);
    const convergedAt = h.state.history.filter((t) => t.trigger === TransitionTrigger.Converged && t.wave >= waves);
    finals.forEach((v, i) => expect(Date.parse(v.at) - Date.parse(convergedAt[i]!.at)).toBe(300_000));
    // only once the rollout completed are the old Deployments removed
    expect(sent.filter((g) => g.removeOld).map((g) => g.cluster)).toEqual(['prod-1', 'prod-2']);
    expect(h.last!.state.reason).toContain('every wave done');
  });

  it('Given a gateway whose step fails at 50%, When the gate fails with rollback-wave, Then the steps are taken back one by one (50% → 10% → 0%), each only once every gateway reports the share before it, and the workloads stay on the new revision', () => {
    const h = newGatewayHarness({ onGateFailure: 'rollback-wave' });
    const waves = h.record.plan.waves.length;
    // step 1 (10%) passes; the copy's pods fail from the 50% step on
    runTo(h, (x) => x.state.wave === waves + 1);
    expect(h.state.phase).toBe('Running');
    h.fleet.failingGateways.add('prod-2/istio-ingress/ingressgateway');

    h.runUntil(['Halted', 'Completed', 'Failed']);
    // the engine halts, then fails back step by step
    expect(h.state.phase).toBe('Halted');
    expect(h.triggers()).toContain(`gate-failed:${waves + 1}`);
    expect(h.triggers().at(-1)).toBe(`wave-rolled-back:${waves + 1}`);
    for (const cluster of ['prod-1', 'prod-2'])
      expect(h.fleet.gatewayShares.get(`${cluster}/istio-ingress/ingressgateway`)).toEqual([10, 50, 10, 0]);
    // a retry starts again from the first gateway step
    expect(h.state.wave).toBe(waves);
    // the status shows the steps taken back and each gateway back at 0%
    const status = buildGatewayStatus(h.record, h.state, h.fleet.observations())!;
    expect(status.steps.map((s) => [s.name, s.state])).toEqual([
      ['gateways-10%', 'rolled-back'],
      ['gateways-50%', 'rolled-back'],
      ['gateways-100%', 'pending'],
    ]);
    expect(status.gateways.map((g) => [g.cluster, g.percent, g.state])).toEqual([
      ['prod-1', 0, 'converged'],
      ['prod-2', 0, 'converged'],
    ]);
    const all = h.record.plan.waves.flatMap((w) => w.units);
    expect(all.every((u) => h.fleet.revisions.get(u) === '1-25-2')).toBe(true);
  });

  it('Given a gateway at 100% whose failback to 50% does not converge, When failing back, Then the 10% step is not taken back before it does', () => {
    const h = newGatewayHarness({ onGateFailure: 'rollback-all' });
    const waves = h.record.plan.waves.length;
    runTo(h, (x) => x.state.wave === waves + 2 && x.state.wavePhase === 'Soaking');
    expect(h.state.wavePhase).toBe('Soaking');
    // the agent of prod-1 goes silent: its gateway never reports 50%
    h.fleet.deaf.add('prod-1');
    h.fleet.failingGateways.add('prod-2/istio-ingress/ingressgateway');
    h.runUntil(['RolledBack', 'Failed'], new Date(h.now.getTime() + 3_600_000));

    expect(h.state.phase).toBe('RollingBack');
    expect(h.fleet.gatewayShares.get('prod-2/istio-ingress/ingressgateway')).toEqual([10, 50, 100, 50]);
    expect(h.state.reason).toContain('gateways still to go');

    // prod-1's agent comes back: the failback walks down the rest of the steps
    h.fleet.deaf.delete('prod-1');
    h.now = new Date(h.now.getTime() + 60_000);
    h.reconcile(); // resends the lagging target
    h.runUntil(['RolledBack', 'Failed']);
    expect(h.state.phase).toBe('RolledBack');
    expect(h.fleet.gatewayShares.get('prod-2/istio-ingress/ingressgateway')).toEqual([10, 50, 100, 50, 10, 0]);
    const all = h.record.plan.waves.flatMap((w) => w.units);
    expect(all.every((u) => h.fleet.revisions.get(u) === '1-24-5')).toBe(true);
  });

  it('Given a completed rollout whose agent has not yet reported the removal of the old Deployment, When its status is read, Then the gateway shows the state its last gate passed on (converged at 100%), not pending (and the agent that reported the removal: converged)', () => {
    const h = newGatewayHarness();
    const waves = h.record.plan.waves.length;
    runTo(h, (x) => x.state.wave === waves + 2 && x.state.wavePhase === 'Soaking');
    expect(h.state.wavePhase).toBe('Soaking');
    // prod-1's agent hears nothing more: the completion's command (removeOld) goes unanswered
    h.fleet.deaf.add('prod-1');
    h.runUntil(['Completed', 'Halted', 'Failed']);
    expect(h.state.phase).toBe('Completed');
    const status = buildGatewayStatus(h.record, h.state, h.fleet.observations())!;
    expect(status.steps.map((s) => s.state)).toEqual(['done', 'done', 'done']);
    expect(status.gateways.map((g) => [g.cluster, g.percent, g.state, g.reason])).toEqual([
      ['prod-1', 100, 'converged', 'old Deployment being removed'],
      ['prod-2', 100, 'converged', undefined],
    ]);
  });

  it('Given a completed rollout whose agent reports the removal step of the old Deployment as it goes (pending, restarting, converged), When its status is read, Then the gateway reads converged, then restarting, then converged, never pending', () => {
    const h = newGatewayHarness();
    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
    const at = (state: 'pending' | 'restarting' | 'converged') => {
      const observations = h.fleet.observations();
      const report = observations.clusters.get('prod-1')!;
      const gateways = report.gateways!.map((g) => ({ ...g, state }));
      const clusters = new Map(observations.clusters).set('prod-1', { ...report, gateways });
      const g = buildGatewayStatus(h.record, h.state, { ...observations, clusters })!.gateways.find(
        (x) => x.cluster === 'prod-1',
      )!;
      return [g.percent, g.state, g.reason];
    };
    expect(at('pending')).toEqual([100, 'converged', 'old Deployment being removed']);
    expect(at('restarting')).toEqual([100, 'moving', 'old Deployment being removed']);
    expect(at('converged')).toEqual([100, 'converged', undefined]);
  });

  it('Given a rollout without a gateways section, When it runs, Then its desired states name no gateway and it completes after its waves', () => {
    const h = newHarness({}, newGatewayInventory());
    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
    expect(sentGateways(h)).toEqual([]);
  });
});

describe('engine: Gateway API gateways of a tag move are pinned, then moved in their own step (ADR 0056)', () => {
  it('Given a rollout moving tag prod and a Gateway labelled prod, When it runs, Then every desired state from the first wave on names the Gateway to pin, and its gateway-api step carries the tag', () => {
    const base = newGatewayInventory();
    const inventory = Inventory.parse({
      ...base,
      clusters: base.clusters.map((c) => ({
        ...c,
        tags: { prod: '1-24-5' },
        workloads: c.workloads.map((w) => ({ ...w, revision: 'prod' })),
        gateways: [
          ...(c.gateways ?? []),
          { namespace: 'web', name: 'shop-istio', kind: 'gateway-api', gatewayName: 'shop', revision: 'prod' },
        ],
      })),
    });
    const h = newHarness({ tag: 'prod', gateways: { steps: [100], soak: '5m' } } as SpecOverrides, inventory);
    expect(h.record.plan.gatewaySteps.map((s) => [s.name, s.gateways.map((g) => g.gatewayName ?? g.name)])).toEqual([
      ['gateways-100%', ['ingressgateway', 'ingressgateway']],
      ['gateway-api', ['shop', 'shop']],
    ]);
    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
    const desired = h.fleet.published.filter((c) => c.kind === 'cluster').map((c) => c.data as ClusterDesiredState);
    const first = desired.filter((d) => d.wave === 0);
    expect(first.length).toBeGreaterThan(0);
    for (const d of desired) expect(d.gatewayPins).toEqual([{ namespace: 'web', gatewayName: 'shop' }]);
    const apiCommands = desired.flatMap((d) => (d.gateways ?? []).filter((g) => g.kind === 'gateway-api'));
    expect(apiCommands.length).toBeGreaterThan(0);
    expect(apiCommands.every((g) => g.tag === 'prod' && g.revision === '1-25-2')).toBe(true);
  });

  it('Given the same rollout without a tag, Then no desired state names a Gateway to pin', () => {
    const base = newGatewayInventory();
    const inventory = Inventory.parse({
      ...base,
      clusters: base.clusters.map((c) => ({
        ...c,
        gateways: [
          { namespace: 'web', name: 'shop-istio', kind: 'gateway-api', gatewayName: 'shop', revision: '1-24-5' },
        ],
      })),
    });
    const h = newHarness({ gateways: { steps: [100], soak: '5m' } } as SpecOverrides, inventory);
    h.runUntil(['Completed']);
    const desired = h.fleet.published.filter((c) => c.kind === 'cluster').map((c) => c.data as ClusterDesiredState);
    expect(desired.some((d) => d.gatewayPins !== undefined)).toBe(false);
    expect(desired.flatMap((d) => d.gateways ?? []).some((g) => g.tag !== undefined)).toBe(false);
  });
});
