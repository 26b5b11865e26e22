import { Inventory, RolloutSpec, UnitState, type UnitProgress } from '@meshwave/contracts';
import { planRollout } from '@meshwave/plan';
import { describe, expect, it } from 'vitest';
import { newRolloutRecord } from '../core/rollout-record.js';
import { emptyObservations, newRolloutState, type Observations, type RolloutState } from '../core/rollout-state.js';
import { buildRolloutStatus } from './rollout-status.js';

const T0 = new Date('2026-11-02T09:00:00Z');
const FROM = '1-24-5';
const TO = '1-25-2';

function newRecord(deadline = '2026-12-20T00:00:00Z') {
  const inventory = Inventory.parse({
    clusters: ['prod-1', 'prod-2'].map((name) => ({
      name,
      labels: {},
      workloads: Array.from({ length: 4 }, (_, w) => ({
        namespace: 'shop',
        kind: 'Deployment',
        name: `app-${w}`,
        labels: {},
        revision: FROM,
      })),
    })),
    vmGroups: [],
  });
  const spec = RolloutSpec.parse({
    apiVersion: 'meshwave.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'upgrade' },
    spec: {
      from: FROM,
      to: TO,
      deadline,
      defaults: { soak: '5m', maxUnavailable: '100%', batchEstimate: '1m' },
      waves: [
        { name: 'canary', select: { clusters: ['prod-1'] }, percent: 100 },
        { name: 'rest', percent: 100, approval: true },
      ],
      onGateFailure: 'rollback-wave',
    },
  });
  const plan = planRollout(spec, inventory, { now: T0 });
  return newRolloutRecord({ id: 'r1', spec, plan, inventory, createdBy: 'alice', now: T0 });
}

/** prod-1's agent reports every workload with this assigned label and injected revision. */
function reported(revision: string, injectedRevision: string | undefined): Observations {
  const report: UnitProgress = {
    cluster: 'prod-1',
    rolloutId: 'r1',
    generation: 1,
    halted: false,
    units: Array.from({ length: 4 }, (_, w) => ({
      namespace: 'shop',
      kind: 'Deployment',
      name: `app-${w}`,
      state: UnitState.Converged,
      revision,
      ...(injectedRevision !== undefined ? { injectedRevision } : {}),
    })),
  };
  return { ...emptyObservations(), clusters: new Map([['prod-1', report]]) };
}

const transition = (trigger: string, to: string) => ({
  at: T0.toISOString(),
  from: 'x',
  to,
  trigger,
  reason: '',
  wave: 0,
  actor: 'engine',
});

function state(patch: Partial<RolloutState>): RolloutState {
  return { ...newRolloutState(T0), dispatchedWaves: 1, ...patch };
}

describe('rollout status: states told as they are', () => {
  it('calls a wave being failed back rolling-back, and rolled-back only once the rollback is over', () => {
    const record = newRecord();
    const failingBack = state({ phase: 'RollingBack', rolledBackWaves: [0], rollbackScope: 'wave' });
    expect(buildRolloutStatus(record, failingBack, emptyObservations(), T0).waveStatuses[0]!.state).toBe(
      'rolling-back',
    );
    const back = state({ phase: 'Halted', rolledBackWaves: [0] });
    expect(buildRolloutStatus(record, back, emptyObservations(), T0).waveStatuses[0]!.state).toBe('rolled-back');
  });

  it('shows an aborted rollout as aborted: no wave awaiting approval, no deadline at risk', () => {
    // a deadline already passed: the estimate of a running rollout would put it at risk
    const record = newRecord('2026-11-02T09:30:00Z');
    const aborted = state({
      phase: 'Failed',
      updatedAt: '2026-11-02T10:00:00Z',
      history: [transition('abort', 'Failed')],
    });
    const status = buildRolloutStatus(record, aborted, emptyObservations(), T0);
    expect(status.waveStatuses.map((w) => w.state)).toEqual(['aborted', 'not-started']);
    expect(status.deadlineAtRisk).toBe(false);
  });

  it('keeps awaiting-approval for a live rollout whose next wave needs one', () => {
    const record = newRecord();
    const running = state({ phase: 'Running', wavePhase: 'Dispatching', wave: 1 });
    expect(buildRolloutStatus(record, running, emptyObservations(), T0).waveStatuses[1]!.state).toBe(
      'awaiting-approval',
    );
  });
});

describe('rollout status: units on the new revision count the injected sidecar', () => {
  it('counts units running `to`, not units labelled with it', () => {
    const record = newRecord();
    const running = state({ phase: 'Running', wavePhase: 'Converging' });
    // labelled with the new revision, pods still injected with the old one
    const labelled = buildRolloutStatus(record, running, reported(TO, FROM), T0).waveStatuses[0]!;
    expect(labelled.onTarget).toEqual({ units: 0, vmHosts: 0 });
    const injected = buildRolloutStatus(record, running, reported(TO, TO), T0).waveStatuses[0]!;
    expect(injected.onTarget).toEqual({ units: 4, vmHosts: 0 });
    expect(injected.clusters).toEqual([expect.objectContaining({ cluster: 'prod-1', onTarget: 4 })]);
    expect(injected.desiredRevision).toBe(TO);
  });

  it('counts down while a wave is failed back: its units leave `to`', () => {
    const record = newRecord();
    const failingBack = state({ phase: 'RollingBack', rolledBackWaves: [0], rollbackScope: 'wave' });
    const wave = buildRolloutStatus(record, failingBack, reported(FROM, FROM), T0).waveStatuses[0]!;
    expect(wave.desiredRevision).toBe(FROM);
    expect(wave.onTarget?.units).toBe(0);
    // the old count: units converged on what the wave wants now (back on `from`), which fills like progress
    expect(wave.units.converged).toBe(4);
  });

  it('counts only the units the wave still holds: a unit skipped (cluster Unreachable) is not on target in it', () => {
    const record = newRecord();
    const skipped = ['prod-1/shop/Deployment/app-2', 'prod-1/shop/Deployment/app-3'];
    const running = state({
      phase: 'Running',
      wavePhase: 'Converging',
      membership: { snapshots: { '0': ['prod-1'] }, added: {}, skipped: { '0': skipped }, unreachable: {} },
    });
    // the agent still reports the skipped units, moved before they were skipped
    const wave = buildRolloutStatus(record, running, reported(TO, TO), T0).waveStatuses[0]!;
    expect(wave.units.converged).toBe(2);
    // the old count took the plan's units: 4 on target in a wave of 2
    expect(wave.onTarget?.units).toBe(2);
    expect(wave.clusters).toEqual([expect.objectContaining({ cluster: 'prod-1', onTarget: 2 })]);
  });
});
