import { GateOutcome, GateReason, UnitFailureReason, type HealthReport } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { agentReportHealthSource, evaluateGate, type GateRequest } from './health-source.js';
import {
  DEGRADED_REPORT_MAX_AGE_MS,
  VM_BRIDGE_HEALTH_KEY,
  holdUnits,
  holdVerdict,
  holdVmHosts,
  isStarved,
} from './judgement-hold.js';
import type { Observations } from './rollout-state.js';
import { UnitStatus, type UnitObservation, type VmHostObservation } from './unit-observations.js';

const AT = '2026-11-02T09:00:00.000Z';
const NOW = new Date('2026-11-02T09:00:10.000Z');

function newObservations(health: Record<string, Partial<HealthReport>> = {}): Observations {
  return {
    clusters: new Map(),
    vmGroups: new Map(),
    health: new Map(
      Object.entries(health).map(([key, r]) => [
        key,
        { report: { source: key, generation: 1, observedAt: AT, units: [], ...r }, receivedAt: AT },
      ]),
    ),
  };
}

function newUnit(cluster: string, reason: string = UnitFailureReason.ProgressDeadlineExceeded): UnitObservation {
  return {
    unit: `${cluster}/shop/Deployment/cart`,
    cluster,
    wave: 0,
    desired: '1-25-2',
    status: UnitStatus.Failed,
    fresh: true,
    reason,
    crashLooping: false,
    sidecarMismatch: false,
    restarts: 0,
  };
}

function newGateRequest(units: readonly UnitObservation[], vmHosts: readonly VmHostObservation[] = []): GateRequest {
  return { rolloutId: 'r', wave: 0, final: false, gates: {}, units, watched: [], vmHosts };
}

const lagging = { reason: 'event-loop-lag', lagMs: 4_200 };

describe('judgement hold (pure)', () => {
  it('a Degraded report older than the limit holds nothing: a source that went silent cannot hide failures', () => {
    const observations = newObservations({ 'prod-1': { degraded: lagging } });
    const later = new Date(Date.parse(AT) + DEGRADED_REPORT_MAX_AGE_MS + 1);
    expect(holdUnits([newUnit('prod-1')], observations, later)[0]?.status).toBe(UnitStatus.Failed);
  });

  it('a unit past its deadline in a cluster that reports itself Degraded is held, not failed', () => {
    const observations = newObservations({ 'prod-1': { degraded: lagging } });
    const units = holdUnits([newUnit('prod-1')], observations, NOW);
    expect(units[0]).toMatchObject({ status: UnitStatus.Moving, reason: GateReason.JudgementHeld });
    const verdict = evaluateGate([agentReportHealthSource], newGateRequest(units));
    expect(verdict).toMatchObject({ outcome: GateOutcome.Inconclusive, reason: GateReason.JudgementHeld });
  });

  it('the same unit fails when its cluster is well (no degraded, as agents before the field send)', () => {
    const units = holdUnits(
      [newUnit('prod-1')],
      newObservations({ 'prod-1': {}, 'prod-2': { degraded: lagging } }),
      NOW,
    );
    expect(evaluateGate([agentReportHealthSource], newGateRequest(units))).toMatchObject({
      outcome: GateOutcome.Failed,
      reason: GateReason.UnitFailed,
    });
  });

  it('a Degraded cluster holds only deadline failures: a unit that is not found still fails', () => {
    const observations = newObservations({ 'prod-1': { degraded: lagging } });
    const units = holdUnits([newUnit('prod-1', UnitFailureReason.NotFound)], observations, NOW);
    expect(evaluateGate([agentReportHealthSource], newGateRequest(units)).outcome).toBe(GateOutcome.Failed);
  });

  it('a Degraded vm-bridge holds its failed hosts', () => {
    const host: VmHostObservation = {
      host: 'edge/vm-1',
      group: 'edge',
      wave: 0,
      desired: '1-25-2',
      status: 'failed',
      fresh: true,
    };
    expect(holdVmHosts([host], newObservations(), NOW)[0]?.status).toBe('failed');
    const held = holdVmHosts([host], newObservations({ [VM_BRIDGE_HEALTH_KEY]: { degraded: lagging } }), NOW);
    expect(held[0]?.status).toBe('upgrading');
    expect(evaluateGate([agentReportHealthSource], newGateRequest([], held))).toMatchObject({
      outcome: GateOutcome.Inconclusive,
      reason: GateReason.JudgementHeld,
    });
  });

  it('a starved planner holds a Failed verdict; under the threshold it fails', () => {
    const failed = evaluateGate([agentReportHealthSource], newGateRequest([newUnit('prod-1')]));
    expect(failed.outcome).toBe(GateOutcome.Failed);
    const starved = { lagMs: 2_500, thresholdMs: 1_000 };
    expect(isStarved(starved)).toBe(true);
    expect(holdVerdict(failed, starved)).toMatchObject({
      outcome: GateOutcome.Inconclusive,
      reason: GateReason.JudgementHeld,
      failed: [],
    });
    expect(holdVerdict(failed, { lagMs: 40, thresholdMs: 1_000 })).toBe(failed);
    expect(holdVerdict(failed, undefined)).toBe(failed);
  });
});
