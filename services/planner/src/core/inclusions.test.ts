import { describe, expect, it } from 'vitest';
import { newHarness, type Harness } from './engine-harness.js';
import { includeBack } from './inclusions.js';
import { listen } from './membership-harness.js';
import { startWave } from './wave-membership.js';
import { waveUnitsOf } from './wave-units.js';

const partsOf = (unit: string) => {
  const [cluster, namespace, kind, name] = unit.split('/') as [string, string, 'Deployment', string];
  return { cluster, namespace, kind, name };
};
const unitsOf = (h: Harness, w: number): string[] => waveUnitsOf(h.record, h.state, w).map((u) => u.unit);

/** Three waves, the last awaiting approval, failing back only the wave that fails. */
function newApprovalHarness(): Harness {
  return newHarness({
    onGateFailure: 'rollback-wave',
    waves: [
      { name: 'canary', percent: 10 },
      { name: 'half', percent: 50 },
      { name: 'all', percent: 100, approval: true },
    ],
  });
}

describe('include back an excluded unit', () => {
  it('Given a unit excluded after its wave failed and the rollout went on, When it is included back before the last wave starts, Then it leaves its started wave, joins the last one and ends on `to`', () => {
    // Given a crash-looping unit in wave 1, excluded so the rollout goes on (agents heard: waves snapshot at start)
    const h = newApprovalHarness();
    listen(h);
    const bad = h.record.plan.waves[1]!.units[0]!;
    h.fleet.failing.add(bad);
    h.runUntil(['Halted']);
    h.settle();
    expect(h.act({ action: 'exclude', units: [partsOf(bad)], reason: 'crash loops' }).ok).toBe(true);
    expect(h.act({ action: 'resume' }).ok).toBe(true);
    // the last wave waits for approval: it has not started
    h.runUntil(['Completed']);
    expect(h.state).toMatchObject({ phase: 'Running', wave: 2, dispatchedWaves: 2 });
    expect(h.fleet.revisions.get(bad)).toBe('1-24-5');

    // When the fix is out and the unit is included back, with a reason
    h.fleet.failing.delete(bad);
    const included = h.act({ action: 'include', units: [partsOf(bad)], reason: 'fixed in app 2.3.1' });
    expect(included).toMatchObject({ ok: true, message: expect.stringContaining('into wave "all"') });
    expect(h.state.excluded).toEqual([]);
    // Then wave 1 (started) no longer counts it, and wave 2 (not started) takes it
    expect(unitsOf(h, 1)).not.toContain(bad);
    expect(unitsOf(h, 2)).toContain(bad);
    expect(h.act({ action: 'approve' }).ok).toBe(true);
    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
    expect(h.fleet.revisions.get(bad)).toBe('1-25-2');
    // and it moved once, with wave 2: each unit of the plan is in exactly one wave
    const all = [0, 1, 2].flatMap((w) => unitsOf(h, w));
    expect(all.filter((u) => u === bad)).toHaveLength(1);
    expect(new Set(all).size).toBe(h.record.plan.waves.flatMap((w) => w.units).length);
  });

  it('Given a unit excluded before its wave started, When it is included back, Then it moves with its own wave', () => {
    const h = newApprovalHarness();
    const later = h.record.plan.waves[2]!.units[0]!;
    expect(h.act({ action: 'exclude', units: [partsOf(later)] }).ok).toBe(true);
    const included = h.act({ action: 'include', units: [partsOf(later)] });
    expect(included.ok).toBe(true);
    expect(h.state.excluded).toEqual([]);
    expect(h.state.membership).toBeUndefined();
    expect(unitsOf(h, 2)).toContain(later);
    h.runUntil(['Completed']);
    expect(h.act({ action: 'approve' }).ok).toBe(true);
    h.runUntil(['Completed']);
    expect(h.fleet.revisions.get(later)).toBe('1-25-2');
  });

  it('refuses a unit that is not excluded, and a workload under an excluded namespace, naming the field', () => {
    const h = newApprovalHarness();
    const unit = h.record.plan.waves[0]!.units[0]!;
    const { cluster, namespace } = partsOf(unit);
    expect(h.act({ action: 'include', units: [partsOf(unit)] })).toMatchObject({
      ok: false,
      problems: [{ path: 'units[0]', message: `${unit} is not excluded from rollout r1` }],
    });
    expect(h.act({ action: 'exclude', units: [{ cluster, namespace }] }).ok).toBe(true);
    expect(h.act({ action: 'include', units: [partsOf(unit)] })).toMatchObject({
      ok: false,
      problems: [{ path: 'units[0]', message: expect.stringContaining(`include ${cluster}/${namespace} back`) }],
    });
  });

  it('puts a unit back into the running forced wave when every wave has started, and refuses when the last is not forced', () => {
    const h = newApprovalHarness();
    const first = h.record.plan.waves[0]!.units[0]!;
    const state = { ...h.state, phase: 'Running' as const, wave: 2, dispatchedWaves: 3, excluded: [first] };
    // the last wave is not forced: no wave is left to take it
    expect(includeBack(h.record, state, [partsOf(first)])).toMatchObject({
      ok: false,
      why: expect.stringContaining('no wave is left'),
    });
    // the deadline forced the last wave: it takes the unit while it runs
    const waves = h.record.plan.waves.map((w, i) => (i === 2 ? { ...w, forced: true } : w));
    const forced = { ...h.record, plan: { ...h.record.plan, waves } };
    const back = includeBack(forced, state, [partsOf(first)]);
    expect(back).toMatchObject({ ok: true, excluded: [] });
    if (!back.ok) return;
    expect(back.membership?.added['2']).toEqual([first]);
    expect(back.membership?.skipped['0']).toEqual([first]);
    expect(waveUnitsOf(forced, { ...state, membership: back.membership }, 0).map((u) => u.unit)).not.toContain(first);
    expect(waveUnitsOf(forced, { ...state, membership: back.membership }, 2).map((u) => u.unit)).toContain(first);
  });

  it('a wave keeps the units included into it before it started when skipped units come back at its start too', () => {
    const h = newApprovalHarness();
    const included = h.record.plan.waves[0]!.units[0]!;
    const skipped = h.record.plan.waves[1]!.units[0]!;
    const membership = {
      snapshots: {},
      unreachable: {},
      added: { '2': [included] },
      skipped: { '0': [included], '1': [skipped] },
    };
    const state = { ...h.state, phase: 'Running' as const, wave: 2, dispatchedWaves: 2, membership };
    const heard = { lastSeen: new Map<string, number>(), since: h.now.getTime(), timeoutMs: 60_000 };
    const start = startWave(h.record, state, 2, heard, h.now);
    expect(start.ok && [...start.membership.added['2']!].sort()).toEqual([included, skipped].sort());
  });
});
