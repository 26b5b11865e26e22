import { GateOutcome, TransitionTrigger, unitKey, type ClusterDesiredState } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { T0, newHarness, newInventory } from './engine-harness.js';
import { newRolloutState } from './rollout-state.js';
import { TRANSITIONS, isAllowed, transition } from './transition-table.js';

describe('engine: waves in order', () => {
  it('dispatches each wave only after the previous one passed its gate, and completes with every unit on the new revision', () => {
    const h = newHarness();
    const dispatchedWith: { wave: number; earlierConverged: boolean }[] = [];
    for (let i = 0; i < 50 && h.state.phase !== 'Completed'; i++) {
      const before = h.state;
      h.reconcile();
      for (const t of h.last!.transitions) {
        if (t.trigger !== TransitionTrigger.Dispatched) continue;
        const earlier = h.record.plan.waves.slice(0, t.wave).flatMap((w) => w.units);
        dispatchedWith.push({
          wave: t.wave,
          earlierConverged:
            (earlier.every((u) => h.fleet.revisions.get(u) === '1-25-2') && before.phase === 'Running') || t.wave === 0,
        });
      }
    }
    expect(h.state.phase).toBe('Completed');
    expect(dispatchedWith.map((d) => d.wave)).toEqual([0, 1, 2]);
    expect(dispatchedWith.every((d) => d.earlierConverged)).toBe(true);
    const all = h.record.plan.waves.flatMap((w) => w.units);
    expect(all.length).toBe(20);
    expect(all.every((u) => h.fleet.revisions.get(u) === '1-25-2')).toBe(true);
    expect(h.triggers()).toEqual([
      'start:0',
      'dispatched:0',
      'converged:0',
      'soak-elapsed:0',
      'gate-passed:0',
      'dispatched:1',
      'converged:1',
      'soak-elapsed:1',
      'gate-passed:1',
      'dispatched:2',
      'converged:2',
      'soak-elapsed:2',
      'last-gate-passed:2',
    ]);
    expect(h.state.verdicts.filter((v) => v.final).map((v) => v.outcome)).toEqual([
      GateOutcome.Successful,
      GateOutcome.Successful,
      GateOutcome.Successful,
    ]);
  });

  it('sends cumulative desired state with increasing generations and the leader epoch', () => {
    const h = newHarness();
    h.runUntil(['Completed']);
    const sent = h.fleet.published.filter((c) => c.kind === 'cluster').map((c) => c.data as ClusterDesiredState);
    for (const cluster of ['prod-1', 'prod-2']) {
      const mine = sent.filter((d) => d.cluster === cluster);
      const gens = mine.map((d) => d.generation);
      expect([...gens].sort((a, b) => a - b)).toEqual(gens);
      expect(new Set(gens).size).toBe(gens.length);
      const sizes = mine.map((d) => d.units.length);
      expect([...sizes].sort((a, b) => a - b)).toEqual(sizes);
      expect(mine.every((d) => d.epoch === 1 && d.rolloutId === 'r1')).toBe(true);
    }
  });
});

describe('engine: soak', () => {
  it('holds a converged wave for its soak time before the gate is final', () => {
    const h = newHarness({
      waves: [
        { name: 'canary', percent: 10, soak: '10m' },
        { name: 'all', percent: 100 },
      ],
    });
    h.settle();
    expect(h.state.wavePhase).toBe('Soaking');
    expect(h.last?.wakeAt?.toISOString()).toBe(new Date(T0.getTime() + 600_000).toISOString());
    h.now = new Date(T0.getTime() + 599_000);
    h.settle();
    expect(h.state).toMatchObject({ wave: 0, wavePhase: 'Soaking' });
    h.now = new Date(T0.getTime() + 600_000);
    h.settle();
    expect(h.state.wave).toBe(1);
    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
  });

  it('fails the wave when a unit fails during the soak', () => {
    const h = newHarness({
      waves: [
        { name: 'canary', percent: 10, soak: '10m' },
        { name: 'all', percent: 100 },
      ],
      onGateFailure: 'halt',
    });
    h.settle();
    expect(h.state.wavePhase).toBe('Soaking');
    const unit = h.record.plan.waves[0]!.units[0]!;
    h.fleet.health.set(unit.split('/')[0]!, {
      receivedAt: new Date(T0.getTime() + 60_000).toISOString(),
      report: {
        source: 'x',
        generation: 1,
        observedAt: T0.toISOString(),
        units: [
          {
            namespace: unit.split('/')[1]!,
            kind: 'Deployment',
            name: unit.split('/')[3]!,
            unavailableReplicas: 1,
            restarts: 5,
            crashLooping: true,
            sidecarMismatch: false,
          },
        ],
      },
    });
    h.now = new Date(T0.getTime() + 120_000);
    h.settle();
    expect(h.state.phase).toBe('Halted');
    expect(h.state.verdicts.at(-1)).toMatchObject({ outcome: 'Failed', reason: 'CrashLoop', failed: [unit] });
  });
});

describe('engine: windows', () => {
  it('waits for the allow window and skips a blackout', () => {
    const saturday = new Date('2026-11-07T10:00:00Z');
    const h = newHarness(
      {
        windows: {
          timezone: 'UTC',
          allow: [{ days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'], from: '09:00', to: '17:00' }],
          blackouts: [{ from: '2026-11-09T00:00:00Z', to: '2026-11-10T00:00:00Z', reason: 'freeze' }],
        },
      },
      newInventory(),
      saturday,
    );
    h.settle();
    expect(h.state.phase).toBe('Pending');
    expect(h.fleet.published).toHaveLength(0);
    // Monday is blacked out: the first start is Tuesday 09:00.
    expect(h.last?.wakeAt?.toISOString()).toBe('2026-11-10T09:00:00.000Z');
    h.now = new Date('2026-11-09T12:00:00Z');
    h.settle();
    expect(h.state.phase).toBe('Pending');
    h.now = new Date('2026-11-10T09:00:00Z');
    h.settle();
    expect(h.state.history[0]).toMatchObject({ trigger: 'start', at: '2026-11-10T09:00:00.000Z' });
  });

  it('holds a later wave when the window closes before it may start', () => {
    const h = newHarness({
      windows: { timezone: 'UTC', allow: [{ from: '09:00', to: '09:30' }] },
      waves: [
        { name: 'canary', percent: 10, soak: '1h' },
        { name: 'all', percent: 100 },
      ],
    });
    h.settle();
    h.now = new Date(T0.getTime() + 3_600_000); // 10:00, soak over, window closed
    h.settle();
    expect(h.state).toMatchObject({ wave: 1, wavePhase: 'Dispatching' });
    expect(h.state.reason).toContain('waiting for window until 2026-11-03T09:00:00.000Z');
    h.runUntil(['Completed']);
    expect(h.state.history.find((t) => t.trigger === 'dispatched' && t.wave === 1)?.at).toBe(
      '2026-11-03T09:00:00.000Z',
    );
  });
});

describe('engine: approval', () => {
  it('does not start a wave that needs approval until an operator approves it', () => {
    const h = newHarness({
      waves: [
        { name: 'canary', percent: 10 },
        { name: 'all', percent: 100, approval: true },
      ],
    });
    h.runUntil(['Completed'], new Date(T0.getTime() + 7 * 86_400_000));
    expect(h.state).toMatchObject({ phase: 'Running', wave: 1, wavePhase: 'Dispatching' });
    expect(h.state.reason).toContain('awaits approval');
    expect(h.last?.wakeAt).toBeUndefined();
    const r = h.act({ action: 'approve', reason: 'canary looks fine' });
    expect(r.ok).toBe(true);
    expect(h.act({ action: 'approve' })).toEqual({ ok: false, why: 'no wave of rollout r1 awaits approval' });
    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
  });
});

describe('engine: pause and resume', () => {
  it('halts agents while paused, starts no wave, and continues after resume', () => {
    const h = newHarness();
    h.reconcile(); // Pending → Dispatching → Converging (wave 0 sent)
    expect(h.state.wavePhase).toBe('Converging');
    expect(h.act({ action: 'pause', reason: 'incident' }).ok).toBe(true);
    h.settle();
    expect(h.state.phase).toBe('Paused');
    expect([...h.fleet.desired.values()].every((d) => d.halted)).toBe(true);
    h.now = new Date(T0.getTime() + 86_400_000);
    h.settle();
    expect(h.state).toMatchObject({ phase: 'Paused', dispatchedWaves: 1 });
    expect(h.act({ action: 'pause' })).toMatchObject({ ok: false });
    expect(h.act({ action: 'resume' }).ok).toBe(true);
    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
    expect(h.triggers()).toContain('pause:0');
    expect(h.triggers()).toContain('resume:0');
  });
});

describe('engine: rollback', () => {
  it('an operator rollback moves every dispatched unit back to from and ends RolledBack', () => {
    const h = newHarness();
    h.settle();
    h.settle();
    expect(h.state.dispatchedWaves).toBeGreaterThanOrEqual(1);
    const r = h.act({ action: 'rollback', reason: 'latency' });
    expect(r).toMatchObject({ ok: true });
    h.runUntil(['RolledBack']);
    expect(h.state.phase).toBe('RolledBack');
    const dispatched = h.record.plan.waves.slice(0, h.state.dispatchedWaves).flatMap((w) => w.units);
    expect(dispatched.every((u) => h.fleet.revisions.get(u) === '1-24-5')).toBe(true);
    expect(h.act({ action: 'resume' })).toMatchObject({
      ok: false,
      why: 'rollout r1 is RolledBack: nothing can change it any more',
    });
  });

  it('rollback-wave fails back only the failing wave; after excluding the bad unit a resume completes the rollout', () => {
    const h = newHarness({ onGateFailure: 'rollback-wave' });
    const bad = h.record.plan.waves[1]!.units[0]!;
    h.fleet.failing.add(bad);
    h.runUntil(['Halted']);
    // halted in the wave holding the bad unit, halt commands to every target in the same decision as the failure
    const failure = h.decisions.find((d) => d.transitions.some((t) => t.trigger === 'gate-failed'))!;
    expect(failure.transitions.map((t) => t.to)).toEqual(['Halted', 'RollingBack']);
    expect(failure.commands.filter((c) => c.kind === 'halt').map((c) => c.target)).toEqual([
      'cluster/prod-1',
      'cluster/prod-2',
    ]);
    expect(failure.commands[0]?.kind).toBe('halt');
    h.runUntil(['Halted']);
    h.settle();
    expect(h.state).toMatchObject({ phase: 'Halted', wave: 1 });
    expect(h.state.reason).toContain('back on 1-24-5');
    const wave0 = h.record.plan.waves[0]!.units;
    const wave1 = h.record.plan.waves[1]!.units;
    expect(wave0.every((u) => h.fleet.revisions.get(u) === '1-25-2')).toBe(true);
    expect(wave1.every((u) => h.fleet.revisions.get(u) === '1-24-5')).toBe(true);
    const [cluster, namespace, kind, name] = bad.split('/') as [string, string, 'Deployment', string];
    expect(
      h.act({ action: 'exclude', units: [{ cluster, namespace, kind, name }], reason: 'crash loops on 1-25-2' }).ok,
    ).toBe(true);
    expect(h.act({ action: 'resume' }).ok).toBe(true);
    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
    const all = h.record.plan.waves.flatMap((w) => w.units).filter((u) => u !== bad);
    expect(all.every((u) => h.fleet.revisions.get(u) === '1-25-2')).toBe(true);
    expect(h.fleet.revisions.get(bad)).toBe('1-24-5');
    expect(
      [...h.fleet.desired.values()].flatMap((d) => d.units.map((u) => `${d.cluster}/${unitKey(u)}`)).includes(bad),
    ).toBe(false);
  });

  it('rollback-all fails back every dispatched wave and ends RolledBack', () => {
    const h = newHarness({ onGateFailure: 'rollback-all' });
    h.fleet.failing.add(h.record.plan.waves[2]!.units[0]!);
    h.runUntil(['RolledBack', 'Completed', 'Failed']);
    expect(h.state.phase).toBe('RolledBack');
    expect(
      h.record.plan.waves.flatMap((w) => w.units).every((u) => (h.fleet.revisions.get(u) ?? '1-24-5') === '1-24-5'),
    ).toBe(true);
  });
});

describe('engine: halt on a failed unit', () => {
  it('halts at once in the decision that sees the failure, and stays halted', () => {
    const h = newHarness({ onGateFailure: 'halt' });
    const bad = h.record.plan.waves[0]!.units[0]!;
    h.fleet.failing.add(bad);
    h.reconcile(); // dispatch wave 0
    const d = h.reconcile(); // sees the failure report
    expect(d.transitions.map((t) => `${t.from}->${t.to}`)).toEqual(['Running/Converging->Halted']);
    expect(d.commands.filter((c) => c.kind === 'halt')).toHaveLength(1);
    expect(d.verdicts[0]).toMatchObject({ outcome: 'Failed', reason: 'UnitFailed', failed: [bad] });
    expect([...h.fleet.desired.values()].every((x) => x.halted)).toBe(true);
    h.now = new Date(T0.getTime() + 86_400_000);
    h.settle();
    expect(h.state.phase).toBe('Halted');
    expect(h.act({ action: 'abort' })).toMatchObject({ ok: true });
    expect(h.state.phase).toBe('Failed');
  });
});

describe('engine: deadline forced wave', () => {
  it('a pinned unit moves in the forced wave at its planned start, without waiting for approval', () => {
    const pinUntil = '2026-11-10T00:00:00Z';
    const h = newHarness({
      pins: [{ select: { namespaces: ['ns-0'] }, until: pinUntil }],
      waves: [
        { name: 'canary', percent: 50 },
        { name: 'rest', percent: 100, forced: true, approval: true },
      ],
    });
    const forced = h.record.plan.waves.at(-1)!;
    expect(forced.forced).toBe(true);
    const pinned = forced.units.filter((u) => u.split('/')[1] === 'ns-0');
    expect(pinned.length).toBeGreaterThan(0);
    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
    const start = h.state.history.find((t) => t.trigger === 'dispatched' && t.wave === forced.index)!.at;
    expect(Date.parse(start)).toBeGreaterThanOrEqual(Date.parse(pinUntil));
    expect(pinned.every((u) => h.fleet.revisions.get(u) === '1-25-2')).toBe(true);
  });
});

describe('engine: resync and VMs', () => {
  it('re-sends the same generation to an agent whose reports lag, after the resync interval', () => {
    const h = newHarness();
    h.fleet.deaf.add('prod-2');
    h.settle();
    const first = h.fleet.published.filter((c) => c.target === 'cluster/prod-2');
    expect(h.state.wavePhase).toBe('Converging');
    h.fleet.deaf.delete('prod-2');
    h.now = new Date(T0.getTime() + 29_000);
    h.settle();
    expect(h.fleet.published.filter((c) => c.target === 'cluster/prod-2')).toHaveLength(first.length);
    h.now = new Date(T0.getTime() + 30_000);
    h.settle();
    const again = h.fleet.published.filter((c) => c.target === 'cluster/prod-2');
    expect(again.length).toBeGreaterThan(first.length);
    expect(again[first.length]!.data.generation).toBe(first.at(-1)!.data.generation);
    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
  });

  it('Given an agent whose reports keep lagging, When the planner re-sends its desired state, Then each resend waits twice as long as the last, up to 8 times the resync interval', () => {
    const h = newHarness();
    h.fleet.deaf.add('prod-2');
    h.settle();
    expect(h.state.wavePhase).toBe('Converging');
    const sent = (): number => h.fleet.published.filter((c) => c.target === 'cluster/prod-2').length;
    const first = sent();
    const resendsAt: number[] = [];
    for (let s = 1; s <= 1_000; s++) {
      const before = sent();
      h.now = new Date(T0.getTime() + s * 1_000);
      h.settle();
      if (sent() > before) resendsAt.push(s);
    }
    // 30 s, then +60, +120, +240, and +240 from there on (the same generation each time)
    expect(resendsAt).toEqual([30, 90, 210, 450, 690, 930]);
    expect(h.state.targets['cluster/prod-2']?.resends).toBe(6);
    const again = h.fleet.published.filter((c) => c.target === 'cluster/prod-2');
    expect(new Set(again.slice(first - 1).map((c) => c.data.generation)).size).toBe(1);
    // heard again: it converges and the rollout completes
    h.fleet.deaf.delete('prod-2');
    h.now = new Date(T0.getTime() + 1_200_000);
    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
  });

  it('moves VM hosts with their wave, bounded by the planned batch size', () => {
    const h = newHarness(
      { vms: [{ select: { groups: ['edge'] }, wave: 'half', maxUnavailable: 2 }] },
      newInventory(2, 10, 6),
    );
    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
    const vm = h.fleet.vmDesired.get('edge')!;
    expect(vm.maxUnavailable).toBe(2);
    expect(vm.hosts).toHaveLength(6);
    expect(vm.hosts.every((x) => x.version === '1-25-2')).toBe(true);
    expect(h.state.history.find((t) => t.trigger === 'dispatched' && t.wave === 1)?.reason).toContain('6 VM hosts');
  });
});

describe('transition table', () => {
  it('refuses a transition it does not list', () => {
    const s = newRolloutState(T0);
    expect(() => transition(s, 'Completed', TransitionTrigger.LastGatePassed, 'x', T0)).toThrow(
      /no transition Pending/,
    );
    expect(isAllowed('Running/Gating', TransitionTrigger.GatePassed, 'Running/Dispatching')).toBe(true);
    expect(isAllowed('Completed', TransitionTrigger.Resume, 'Running/Dispatching')).toBe(false);
  });

  it('has no edge out of RolledBack or Failed', () => {
    expect(TRANSITIONS.some((e) => e.from.includes('RolledBack') || e.from.includes('Failed'))).toBe(false);
  });
});
