import { GateOutcome, GateReason, UnitFailureReason } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { agentReportHealthSource, type GateRequest } from './health-source.js';
import { holdUnits, holdVmHosts } from './judgement-hold.js';
import type { Observations } from './rollout-state.js';
import { UnitStatus, reportedHostsOf, type UnitObservation, type VmHostObservation } from './unit-observations.js';
import type { VmProgress } from '@meshwave/contracts';

const NOW = new Date('2026-11-02T09:00:10.000Z');
const none: Observations = { clusters: new Map(), vmGroups: new Map(), health: new Map() };

function unit(name: string, over: Partial<UnitObservation> = {}): UnitObservation {
  const cluster = name.split('/')[0]!;
  return {
    unit: `${name}/shop/Deployment/cart`,
    cluster,
    wave: 0,
    desired: '1-25-2',
    status: UnitStatus.Moving,
    fresh: true,
    crashLooping: false,
    sidecarMismatch: false,
    restarts: 0,
    ...over,
  };
}

const request = (
  units: UnitObservation[],
  watched: UnitObservation[] = [],
  gates: GateRequest['gates'] = {},
): GateRequest => ({
  rolloutId: 'r',
  wave: 1,
  final: false,
  gates,
  units,
  watched,
  vmHosts: [],
});

describe('the agent-reports health source, one pass over the units', () => {
  it('Given a crash loop in an earlier (watched) wave and a failed unit in this one, Then the crash loop decides first, naming the watched unit', () => {
    const v = agentReportHealthSource.evaluate(
      request(
        [unit('c2', { status: UnitStatus.Failed, reason: 'ProgressDeadlineExceeded' })],
        [unit('c1', { crashLooping: true })],
      ),
    );
    expect(v).toMatchObject({
      outcome: GateOutcome.Failed,
      reason: GateReason.CrashLoop,
      failed: ['c1/shop/Deployment/cart'],
    });
  });

  it('Given units over gates.restarts.max (one moving, one converged), a failed one and a sidecar mismatch, Then too many restarts decides, naming only the converged unit', () => {
    const v = agentReportHealthSource.evaluate(
      request(
        [
          unit('c1', { restarts: 9 }),
          unit('c2', { status: UnitStatus.Converged, restarts: 9 }),
          unit('c3', { status: UnitStatus.Failed }),
          unit('c4', { sidecarMismatch: true }),
        ],
        [],
        { restarts: { max: 3 } },
      ),
    );
    expect(v).toMatchObject({ reason: GateReason.TooManyRestarts, failed: ['c2/shop/Deployment/cart'] });
  });

  it('Given stale reports of the wave (not of the watched units), Then the wave waits for those clusters, in order, each once', () => {
    const v = agentReportHealthSource.evaluate(
      request(
        [
          unit('c2', { fresh: false }),
          unit('c1', { fresh: false }),
          unit('c2', { fresh: false }),
          unit('c3', { status: UnitStatus.Converged }),
        ],
        [unit('c9', { fresh: false })],
      ),
    );
    expect(v).toMatchObject({ outcome: GateOutcome.Inconclusive, reason: GateReason.ReportsMissing });
    expect(v.message).toBe('waiting for reports of the latest desired state from cluster/c2, cluster/c1');
  });

  it('Given fresh failures only in stale units, Then they are not judged: a stale report says nothing yet', () => {
    const v = agentReportHealthSource.evaluate(
      request([unit('c1', { fresh: false, status: UnitStatus.Failed, crashLooping: true })]),
    );
    expect(v.reason).toBe(GateReason.ReportsMissing);
  });

  it('Given every unit of the wave converged and a watched one still moving, Then the wave converged (watched units only fail it)', () => {
    const v = agentReportHealthSource.evaluate(
      request(
        [unit('c1', { status: UnitStatus.Converged }), unit('c2', { status: UnitStatus.Converged })],
        [unit('c3')],
      ),
    );
    expect(v).toMatchObject({ outcome: GateOutcome.Successful, reason: GateReason.AllUnitsConverged });
    expect(v.message).toBe('2/2 units and 0/0 VM hosts on the target revision and Ready');
  });

  it('Given no unit failed on a progress deadline by a Degraded agent, Then holdUnits hands back the very array (no copy of every unit per decision)', () => {
    const units = [
      unit('c1'),
      unit('c2', { status: UnitStatus.Failed, reason: UnitFailureReason.ProgressDeadlineExceeded }),
    ];
    expect(holdUnits(units, none, NOW)).toBe(units);
  });

  it('Given a vm-bridge that is not Degraded, Then holdVmHosts hands back the very array', () => {
    const hosts: VmHostObservation[] = [];
    expect(holdVmHosts(hosts, none, NOW)).toBe(hosts);
  });

  it('Given the same VM progress report at every decision, Then its hosts are indexed by name once (the first of a name wins), and again for a new report', () => {
    const host = (name: string, version: string) => ({ name, version, state: 'converged' as const, healthy: true });
    const report = {
      group: 'g',
      rolloutId: 'r',
      generation: 1,
      halted: false,
      hosts: [host('a', '1'), host('a', '2'), host('b', '1')],
    } as VmProgress;
    const byName = reportedHostsOf(report);
    expect(reportedHostsOf(report)).toBe(byName);
    expect([...byName.keys()]).toEqual(['a', 'b']);
    expect(byName.get('a')?.version).toBe('1');
    expect(reportedHostsOf({ ...report, hosts: [host('c', '1')] })).not.toBe(byName);
  });
});
