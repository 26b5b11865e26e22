import { describe, expect, it } from 'vitest';
import { T0, newHarness, type Harness, type SpecOverrides } from './engine-harness.js';
import { parseUnit } from './wave-units.js';

const HOUR = 3_600_000;
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const DEADLINE = at(4 * HOUR).toISOString();
const WAVES = [{ name: 'first', percent: 100 }];

/** Wave 0 goes out; in an hour prod-1 moves all of its units, prod-2 one only. */
function slowProd2(overrides: SpecOverrides = {}): Harness {
  const h = newHarness({
    deadline: DEADLINE,
    waves: WAVES,
    defaults: { soak: '0s', maxUnavailable: '20%', batchEstimate: '1m' },
    ...overrides,
  });
  h.fleet.deaf.add('prod-2');
  h.settle();
  // prod-2's agent got its desired state at once (the planner sees its report) and moved one unit of it in an hour
  const sent = h.fleet.published.filter((c) => c.target === 'cluster/prod-2').at(-1)!;
  h.fleet.deaf.delete('prod-2');
  if (sent.kind === 'cluster') h.fleet.desired.set('prod-2', sent.data);
  h.reconcile();
  const prod2 = h.record.plan.waves[0]!.units.filter((u) => parseUnit(u).cluster === 'prod-2');
  h.fleet.revisions.set(prod2[0]!, '1-25-2');
  h.now = at(HOUR);
  h.reconcile();
  return h;
}

describe('engine: the deadline at runtime', () => {
  it('Given a cluster converging too slowly for the deadline, Then the burn-down counts the units on `to`, the projection from its observed rate misses the deadline, and DeadlineAtRisk is set once, with the slow cluster and by how much, as a condition event', () => {
    const h = slowProd2();
    const track = h.state.deadlineTrack!;
    expect(track.total).toBe(20);
    expect(track.onTarget).toBe(11);
    expect(track.samples.at(-1)).toEqual({ at: at(HOUR).toISOString(), onTarget: 11 });
    // prod-2: 1 unit in one hour, 9 left: 9 hours from now, 6 hours past the deadline
    expect(track.slowClusters).toEqual([
      {
        cluster: 'prod-2',
        remaining: 9,
        unitsPerHour: 1,
        projectedCompletion: at(10 * HOUR).toISOString(),
        lateSeconds: 6 * 3600,
      },
    ]);
    expect(track.atRisk?.reason).toBe(
      `projected ${at(10 * HOUR).toISOString()}, 360m past the deadline ${DEADLINE}; slow: prod-2 (9 units left at 1/h: 360m late); no pacing.maxUnavailableCeiling in the file: concurrency stays as planned`,
    );
    expect(h.last?.conditions).toEqual([{ type: 'DeadlineAtRisk', status: true, message: track.atRisk!.reason }]);

    h.now = at(HOUR + 60_000);
    h.reconcile();
    expect(h.last?.conditions).toBeUndefined();
    expect(h.state.deadlineTrack?.atRisk?.since).toBe(at(HOUR).toISOString());
  });

  it('Given pacing.maxUnavailableCeiling, When the deadline is at risk, Then concurrency is raised towards catching up, never above the ceiling, and the status says it cannot catch up when the ceiling is not enough', () => {
    const h = slowProd2({ pacing: { maxUnavailableCeiling: '50%' } });
    const pacing = h.state.deadlineTrack!.pacing!;
    // needs ×3 (9 h of work in 3 h); the ceiling allows 50% of 10 units = 5 against the planned 2: ×2.5
    expect(pacing.factor).toBe(2.5);
    expect(pacing.note).toMatch(
      /^cannot catch up: at pacing.maxUnavailableCeiling \(×2.5\) the projection still misses/,
    );
    const sent = h.fleet.desired.get('prod-1')!;
    expect(sent.maxUnavailable).toBe(5);
  });

  it('Given pacing.maxUnavailableCeiling high enough, Then concurrency is raised just enough to catch up', () => {
    const h = slowProd2({ pacing: { maxUnavailableCeiling: '100%' } });
    expect(h.state.deadlineTrack!.pacing).toEqual({ factor: 3, note: 'concurrency raised ×3.0 to catch up' });
    expect(h.fleet.desired.get('prod-2')!.maxUnavailable).toBe(6);
  });

  it('Given a rollout on pace, Then no DeadlineAtRisk and the burn-down ends with every unit on `to`', () => {
    const h = newHarness({ deadline: DEADLINE, defaults: { soak: '10m', maxUnavailable: '50%', batchEstimate: '1m' } });
    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
    const track = h.state.deadlineTrack!;
    expect(track.atRisk).toBeUndefined();
    expect(track.samples.at(-1)?.onTarget).toBe(20);
    expect(h.decisions.some((d) => d.conditions !== undefined)).toBe(false);
  });

  it('Given a canary of one unit per cluster that soaked an hour, When the next wave starts, Then its clusters are projected at the plan (not at one unit an hour): no DeadlineAtRisk, and concurrency stays as planned', () => {
    const h = newHarness({
      deadline: DEADLINE,
      waves: [
        { name: 'canary', percent: 10 },
        { name: 'all', percent: 100 },
      ],
      defaults: { soak: '1h', maxUnavailable: '20%', batchEstimate: '1m' },
      pacing: { maxUnavailableCeiling: '50%' },
    });
    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
    // the second wave was dispatched an hour (the canary's soak) after the first
    expect(h.triggers()).toContain('dispatched:1');
    expect(h.decisions.flatMap((d) => d.conditions ?? [])).toEqual([]);
    expect(h.state.deadlineTrack?.pacing).toBeUndefined();
    const sent = h.fleet.published.filter((c) => c.kind === 'cluster' && c.data.wave === 1);
    expect(sent.length).toBeGreaterThan(0);
    for (const c of sent) if (c.kind === 'cluster') expect(c.data.maxUnavailable).toBe(2);
  });

  it("Given an agent that read the wave late and converged one unit before a batch's planned time, Then its cluster is projected at the plan, not from that one unit: no DeadlineAtRisk", () => {
    // 10 units a cluster, 2 at a time, a minute a batch: 5 minutes planned against a deadline in 6
    const h = newHarness({
      deadline: at(6 * 60_000).toISOString(),
      waves: WAVES,
      defaults: { soak: '0s', maxUnavailable: '20%', batchEstimate: '1m' },
      pacing: { maxUnavailableCeiling: '50%' },
    });
    h.fleet.deaf.add('prod-2');
    h.settle();
    const sent = h.fleet.published.filter((c) => c.target === 'cluster/prod-2').at(-1)!;
    h.fleet.deaf.delete('prod-2');
    if (sent.kind === 'cluster') h.fleet.desired.set('prod-2', sent.data);
    const prod2 = h.record.plan.waves[0]!.units.filter((u) => parseUnit(u).cluster === 'prod-2');
    h.fleet.revisions.set(prod2[0]!, '1-25-2');
    // 40 s in: one unit converged (9 left at one per 40 s would take 6 more minutes, past the deadline)
    h.now = at(40_000);
    h.reconcile();
    expect(h.state.deadlineTrack?.checkedAt).toBe(at(40_000).toISOString());
    expect(h.state.deadlineTrack?.atRisk).toBeUndefined();
    expect(h.state.deadlineTrack?.pacing).toBeUndefined();
    // a batch's planned time after its agent's report with still one unit, the measured rate stands: late
    h.now = at(2 * 60_000);
    h.reconcile();
    expect(h.state.deadlineTrack?.slowClusters.map((c) => c.cluster)).toEqual(['prod-2']);
  });

  /** 10 units a cluster, 2 at a time, a minute a batch; prod-2's agent reads its desired state 90 s late. */
  function lateReader(deadlineMs: number): { h: Harness; prod2: string[] } {
    const h = newHarness({
      deadline: at(deadlineMs).toISOString(),
      waves: WAVES,
      defaults: { soak: '0s', maxUnavailable: '20%', batchEstimate: '1m' },
      pacing: { maxUnavailableCeiling: '50%' },
    });
    h.fleet.deaf.add('prod-2');
    h.settle();
    const sent = h.fleet.published.filter((c) => c.target === 'cluster/prod-2').at(-1)!;
    h.fleet.deaf.delete('prod-2');
    h.now = at(90_000);
    if (sent.kind === 'cluster') h.fleet.desired.set('prod-2', sent.data);
    h.reconcile();
    const prod2 = h.record.plan.waves[0]!.units.filter((u) => parseUnit(u).cluster === 'prod-2');
    return { h, prod2 };
  }

  it('Given an agent that read the wave 90 s late and then converged a batch a minute as planned, Then its pace is measured from its first report of the wave, not from the dispatch: no DeadlineAtRisk, concurrency as planned', () => {
    const { h, prod2 } = lateReader(8 * 60_000);
    expect(h.state.targets['cluster/prod-2']?.ackedAt).toBe(at(90_000).toISOString());
    h.fleet.revisions.set(prod2[0]!, '1-25-2');
    h.fleet.revisions.set(prod2[1]!, '1-25-2');
    // 2 units in the minute since its report: 8 left by 6:30, before the deadline at 8:00 (from the dispatch, 2 in
    // 150 s would have projected 12:30)
    h.now = at(150_000);
    h.reconcile();
    expect(h.state.deadlineTrack?.checkedAt).toBe(at(150_000).toISOString());
    expect(h.state.deadlineTrack?.slowClusters).toEqual([]);
    expect(h.state.deadlineTrack?.atRisk).toBeUndefined();
    expect(h.state.deadlineTrack?.pacing).toBeUndefined();
    expect(h.fleet.desired.get('prod-2')!.maxUnavailable).toBe(2);
  });

  it('Given a cluster whose agent reports itself Degraded, Then its measured pace is not judged (the plan stands): no DeadlineAtRisk while it is; once it is well, the same pace makes the cluster late', () => {
    const { h, prod2 } = lateReader(6 * 60_000);
    h.fleet.revisions.set(prod2[0]!, '1-25-2');
    const degraded = (receivedAt: number): void =>
      void h.fleet.health.set('prod-2', {
        receivedAt: at(receivedAt).toISOString(),
        report: {
          source: 'cluster-agent/prod-2',
          generation: receivedAt,
          observedAt: at(receivedAt).toISOString(),
          degraded: { reason: 'event-loop-lag', lagMs: 2_000 },
          units: [],
        },
      });
    degraded(200_000);
    // one unit in 2 minutes since its report: 9 left would take 18 minutes, but the agent is starved
    h.now = at(210_000);
    h.reconcile();
    expect(h.state.deadlineTrack?.checkedAt).toBe(at(210_000).toISOString());
    expect(h.state.deadlineTrack?.slowClusters).toEqual([]);
    expect(h.state.deadlineTrack?.pacing).toBeUndefined();
    // its Degraded report is more than a minute old: believed no longer, the pace counts
    h.now = at(270_000);
    h.reconcile();
    expect(h.state.deadlineTrack?.slowClusters.map((c) => c.cluster)).toEqual(['prod-2']);
    expect(h.state.deadlineTrack?.pacing?.factor).toBeGreaterThan(1);
  });
});
