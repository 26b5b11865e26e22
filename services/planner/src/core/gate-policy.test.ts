import { GateOutcome, GateReason, type GateVerdict } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { judgeInconclusive } from './gate-policy.js';
import { agentReportHealthSource, evaluateGate } from './health-source.js';
import { newRequest, samples, w } from './metric-gates-harness.js';
import { errorRateHealthSource, latencyHealthSource, metricHealthSources } from './metric-gates.js';

const errorRate = errorRateHealthSource({ minRequests: 100, minWorkloadRequests: 20 });
const latency = latencyHealthSource({ minRequests: 100, minWorkloadRequests: 20 });

describe('advisory gates (enforce: false)', () => {
  it('are evaluated and shown beside the verdict, never deciding it', () => {
    const bad = samples([w('cart', 1000, 300)]);
    const enforced = evaluateGate([agentReportHealthSource, errorRate], newRequest({ errorRate: { max: 0.01 } }, bad));
    expect(enforced.outcome).toBe(GateOutcome.Failed);

    const tried = evaluateGate(
      [agentReportHealthSource, errorRate],
      newRequest({ errorRate: { max: 0.01, enforce: false } }, bad),
    );
    expect(tried).toMatchObject({ outcome: GateOutcome.Successful, source: 'agent-reports' });
    expect(tried.advisories).toEqual([
      {
        source: 'prometheus-error-rate',
        outcome: GateOutcome.Failed,
        reason: GateReason.ErrorRateAboveMax,
        message: expect.stringContaining('error ratio 30.0% > 1.00%') as unknown as string,
      },
    ]);
  });

  it('never make a wave wait either: an advisory gate without data is shown as Inconclusive while the wave passes', () => {
    const v = evaluateGate(
      [agentReportHealthSource, ...metricHealthSources()],
      newRequest({ latencyP99: { maxIncrease: { kind: 'percent', value: 10 }, enforce: false } }, undefined),
    );
    expect(v.outcome).toBe(GateOutcome.Successful);
    expect(v.advisories?.map((a) => a.outcome)).toEqual([GateOutcome.Inconclusive]);
  });
});

describe('a silent new revision beside an erring old one', () => {
  const silent = samples([w('cart', 0, 0, undefined)], [w('cart-old', 500, 40, 80)]);

  it('fails the final evaluation of either metric gate, not Inconclusive', () => {
    for (const [source, gates] of [
      [errorRate, { errorRate: { max: 0.01 } }],
      [latency, { latencyP99: { maxIncrease: { kind: 'percent', value: 10 } } }],
    ] as const) {
      const v = source.evaluate(newRequest(gates, silent));
      expect(v).toMatchObject({ outcome: GateOutcome.Failed, reason: GateReason.NewRevisionSilent });
      expect(v.message).toContain('no request reached the wave');
      expect(v.message).toContain('40 errors of 500 requests');
    }
  });

  it('is only too little data while the old side is healthy, or on a watch', () => {
    const quiet = samples([w('cart', 0, 0)], [w('cart-old', 500, 0, 80)]);
    expect(errorRate.evaluate(newRequest({ errorRate: { max: 0.01 } }, quiet)).outcome).toBe(GateOutcome.Inconclusive);
    expect(errorRate.evaluate(newRequest({ errorRate: { max: 0.01 } }, silent, false)).outcome).not.toBe(
      GateOutcome.Failed,
    );
  });
});

describe('judgeInconclusive', () => {
  const NOW = new Date('2026-11-02T09:00:00Z');
  const verdict = (reason: string = GateReason.MetricsInsufficient): GateVerdict => ({
    wave: 2,
    outcome: GateOutcome.Inconclusive,
    reason,
    message: 'too few requests',
    source: 'prometheus-error-rate',
    at: NOW.toISOString(),
    failed: [],
    final: true,
  });
  const at = (s: number): Date => new Date(NOW.getTime() + s * 1000);

  it('counts evaluations in a row and pauses at the limit', () => {
    const first = judgeInconclusive(verdict(), undefined, { limit: 2 }, NOW);
    expect(first).toMatchObject({ pause: false, run: { since: NOW.toISOString(), count: 1 } });
    if (first.pause) return;
    expect(first.reason).toBe(
      'gate Inconclusive (MetricsInsufficient): too few requests; 1 of 2 inconclusive evaluations, pauses for a person at 2026-11-02T09:30:00.000Z at the latest',
    );
    const second = judgeInconclusive(verdict(), first.run, { limit: 2 }, at(15));
    expect(second.pause).toBe(true);
    expect(second.reason).toMatch(/^paused for a person: the final gate of wave 2 could not judge 2 times in a row/);
  });

  it('pauses at the timeout from the first, below the limit; defaults are 10 and 30 min', () => {
    const first = judgeInconclusive(verdict(), undefined, undefined, NOW);
    if (first.pause) throw new Error('paused at once');
    expect(first.deadline).toBe(at(1800).getTime());
    expect(judgeInconclusive(verdict(), first.run, undefined, at(1799)).pause).toBe(false);
    expect(judgeInconclusive(verdict(), first.run, undefined, at(1800)).pause).toBe(true);
  });

  it('does not count a judgement held because the planner lags', () => {
    const held = judgeInconclusive(
      verdict(GateReason.JudgementHeld),
      { since: NOW.toISOString(), count: 1 },
      { limit: 2 },
      at(15),
    );
    expect(held).toMatchObject({ pause: false, run: { count: 1 } });
  });
});
