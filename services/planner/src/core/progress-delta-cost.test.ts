import { UnitState, type UnitProgress, type UnitProgressDelta, type UnitProgressEntry } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { buildWaveStatuses } from '../views/rollout-status.js';
import { decide } from './decide.js';
import type { DecisionInput } from './decision.js';
import { newHarness, newInventory, type Harness } from './engine-harness.js';
import { applyProgressDelta } from './report-delta.js';
import type { Observations } from './rollout-state.js';

const WORKLOADS = 300;
const ONE_WAVE = { waves: [{ name: 'all', percent: 100 }] };

/** Counts how often any unit entry's `state` is read: what observing or tallying a unit costs at least. */
class EntryReads {
  count = 0;

  counted(e: UnitProgressEntry): UnitProgressEntry {
    const { state, ...rest } = e;
    return Object.defineProperty({ ...rest }, 'state', {
      enumerable: true,
      get: () => (this.count++, state),
    }) as UnitProgressEntry;
  }
}

const plain = (e: UnitProgressEntry): UnitProgressEntry => ({ ...e });

function entryOf(report: UnitProgress, name: string): UnitProgressEntry {
  return plain(report.units.find((e) => e.name === name)!);
}

function converged(e: UnitProgressEntry): UnitProgressEntry {
  const { reason: _r, message: _m, ...rest } = e;
  return { ...rest, revision: '1-25-2', injectedRevision: '1-25-2', state: UnitState.Converged };
}

function delta(
  held: UnitProgress,
  upserted: UnitProgressEntry[],
  removed: UnitProgressEntry[] = [],
): UnitProgressDelta {
  const { units: _u, seq, ...rest } = held;
  return {
    ...rest,
    seq: seq! + 1,
    base: seq!,
    upserted,
    removed: removed.map((e) => ({ namespace: e.namespace, kind: e.kind, name: e.name })),
  } as UnitProgressDelta;
}

function applied(held: UnitProgress, d: UnitProgressDelta): UnitProgress {
  const outcome = applyProgressDelta(held, d);
  if (outcome.kind !== 'applied') throw new Error(`delta not applied: ${outcome.kind}`);
  return outcome.report;
}

function inputOf(h: Harness, observations: Observations): DecisionInput {
  return { record: h.record, state: h.state, observations, now: h.now, epoch: 1 };
}

/** A decision and the wave statuses from copies of every input: nothing kept from an earlier call can answer. */
function fromScratch(h: Harness, observations: Observations) {
  const [record, state, obs] = [structuredClone(h.record), structuredClone(h.state), structuredClone(observations)];
  return { decision: decide({ ...inputOf(h, obs), record, state }), waves: buildWaveStatuses(record, state, obs) };
}

describe('a progress delta costs the units it names, not its cluster (issue 15, ADR 0068)', () => {
  it('a decision and a status read after K changed units read about K entries, and equal a build from scratch', () => {
    // Given a running wave of 2 clusters × 300 units, prod-1's agent waiting (its units pending with a reason),
    // and prod-1's report held as the chain's base, each entry counting the reads of its state
    const h = newHarness(ONE_WAVE, newInventory(2, WORKLOADS));
    h.fleet.waiting.set('prod-1', { reason: 'ControlPlaneNotReady', message: 'cp' });
    h.settle();
    expect(h.state.wavePhase).toBe('Converging');
    const reads = new EntryReads();
    const live = h.fleet.observations();
    const base = live.clusters.get('prod-1')!;
    let report: UnitProgress = { ...base, seq: 1, units: base.units.map((e) => reads.counted(e)) };
    const observed = (r: UnitProgress): Observations => ({
      ...live,
      clusters: new Map([...live.clusters, ['prod-1', r]]),
    });
    decide(inputOf(h, observed(report)));
    buildWaveStatuses(h.record, h.state, observed(report));

    const steps: { name: string; deltas: () => UnitProgressDelta[]; changed: number }[] = [
      {
        name: 'the first three waiting units converge',
        deltas: () => [
          delta(
            report,
            ['app-0', 'app-1', 'app-2'].map((n) => converged(entryOf(report, n))),
          ),
        ],
        changed: 3,
      },
      {
        name: 'a unit fails, another restarts',
        deltas: () => [
          delta(report, [
            { ...entryOf(report, 'app-5'), revision: '1-25-2', state: UnitState.Failed, reason: 'CrashLoopBackOff' },
            { ...entryOf(report, 'app-3'), revision: '1-25-2', state: UnitState.Restarting },
          ]),
        ],
        changed: 2,
      },
      { name: 'a unit leaves the report', deltas: () => [delta(report, [], [entryOf(report, 'app-4')])], changed: 1 },
      {
        name: 'two deltas before the next decision: a unit converges, the failed one recovers',
        deltas: () => {
          const first = delta(report, [converged(entryOf(report, 'app-6'))]);
          const next = applied(report, first);
          return [first, { ...delta(next, [converged(entryOf(next, 'app-5'))]) }];
        },
        changed: 2,
      },
    ];
    for (const step of steps) {
      // When prod-1's agent sends the step's deltas and the planner decides and is asked for the status
      for (const d of step.deltas())
        report = applied(report, { ...d, upserted: d.upserted.map((e) => reads.counted(e)) });
      reads.count = 0;
      const obs = observed(report);
      const decision = decide(inputOf(h, obs));
      const waves = buildWaveStatuses(h.record, h.state, obs);

      // Then they read a few entries per changed unit (prod-1 has 300), and equal what copies of the inputs give
      expect(reads.count, step.name).toBeLessThanOrEqual(4 * step.changed);
      reads.count = 0;
      expect({ decision, waves }, step.name).toEqual(fromScratch(h, obs));
    }

    // and a whole report (no delta: nothing known of what changed) is observed whole, with the same result
    report = { ...report, units: report.units.map((e) => reads.counted(plain(e))) };
    reads.count = 0;
    const obs = observed(report);
    const waves = buildWaveStatuses(h.record, h.state, obs);
    expect(reads.count).toBeGreaterThanOrEqual(WORKLOADS);
    expect(waves).toEqual(fromScratch(h, obs).waves);
    expect(waves[0]!.failedUnits).toEqual([]);
    expect(waves[0]!.held?.units).toBe(WORKLOADS - 7);
  });
});
