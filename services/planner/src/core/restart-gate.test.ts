import { describe, expect, it } from 'vitest';
import { T0, newHarness, type Harness } from './engine-harness.js';
import { parseUnit } from './wave-units.js';

const MIN = 60_000;
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const SOAKING = { soak: '10m', maxUnavailable: '50%', batchEstimate: '1m' };

/** The cluster's agent reports `restarts` container restarts for one unit of the current wave, after dispatch. */
function reportRestarts(h: Harness, unit: string, restarts: number): void {
  const u = parseUnit(unit);
  h.fleet.health.set(u.cluster, {
    report: {
      source: u.cluster,
      generation: 1,
      observedAt: h.now.toISOString(),
      units: [
        {
          namespace: u.namespace,
          kind: u.kind!,
          name: u.name!,
          unavailableReplicas: 0,
          restarts,
          crashLooping: false,
          sidecarMismatch: false,
        },
      ],
    },
    receivedAt: h.now.toISOString(),
  });
}

describe('engine: restart counts are judged', () => {
  it('Given gates.restarts.max 3, When a moved unit restarted 4 times, Then the gate fails like a crash loop, naming the unit and the count', () => {
    const h = newHarness({ defaults: SOAKING, gates: { restarts: { max: 3 } } });
    h.settle();
    expect(h.state.wavePhase).toBe('Soaking');
    const unit = h.record.plan.waves[0]!.units[0]!;
    h.now = at(MIN);
    reportRestarts(h, unit, 4);
    h.settle();
    expect(h.state.phase).toBe('Halted');
    const verdict = h.state.verdicts.at(-1)!;
    expect(verdict).toMatchObject({ outcome: 'Failed', reason: 'TooManyRestarts', failed: [unit] });
    expect(verdict.message).toBe(`restarted more than 3 times on the new revision (gates.restarts.max): ${unit} (4)`);
  });

  it('Given gates.restarts.max 3, When a moved unit restarted 3 times, Then the wave soaks on and completes', () => {
    const h = newHarness({ defaults: SOAKING, gates: { restarts: { max: 3 } } });
    h.settle();
    h.now = at(MIN);
    reportRestarts(h, h.record.plan.waves[0]!.units[0]!, 3);
    h.runUntil(['Completed', 'Halted']);
    expect(h.state.phase).toBe('Completed');
  });

  it('Given no gates.restarts, When a moved unit restarted many times, Then restarts alone fail nothing (as before)', () => {
    const h = newHarness({ defaults: SOAKING });
    h.settle();
    h.now = at(MIN);
    reportRestarts(h, h.record.plan.waves[0]!.units[0]!, 50);
    h.runUntil(['Completed', 'Halted']);
    expect(h.state.phase).toBe('Completed');
  });
});

describe('engine: defaults.progressDeadline', () => {
  it('Given defaults.progressDeadline 90s, Then every cluster is told to fail a unit not converged within 90 s; without it, each agent keeps its own', () => {
    const h = newHarness({ defaults: { ...SOAKING, progressDeadline: '90s' } });
    h.settle();
    const sent = h.fleet.published.filter((c) => c.kind === 'cluster');
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((c) => c.kind === 'cluster' && c.data.progressDeadlineSeconds === 90)).toBe(true);

    const plain = newHarness({ defaults: SOAKING });
    plain.settle();
    expect(
      plain.fleet.published.every((c) => c.kind !== 'cluster' || c.data.progressDeadlineSeconds === undefined),
    ).toBe(true);
  });
});
