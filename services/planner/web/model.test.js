import { describe, expect, it } from 'vitest';
import {
  actionsFor,
  exclusions,
  isNotable,
  phaseLabel,
  timeline,
  waveAwaitingApproval,
  waveLabel,
  waveShare,
} from './model.js';

const counts = (c = {}) => ({ pending: 0, moving: 0, converged: 0, failed: 0, excluded: 0, ...c });
const hosts = (c = {}) => ({ pending: 0, upgrading: 0, converged: 0, failed: 0, ...c });

function newWave(patch = {}) {
  return {
    index: 0,
    name: 'canary',
    state: 'active',
    approval: false,
    approved: false,
    units: counts({ converged: 3, pending: 1 }),
    vmHosts: hosts(),
    clusters: [],
    vmGroups: [],
    failedUnits: [],
    ...patch,
  };
}

function newStatus(patch = {}) {
  return {
    id: 'r1',
    name: 'upgrade',
    from: '1-24-5',
    to: '1-25-2',
    phase: 'Running',
    wavePhase: 'Converging',
    wave: 0,
    waves: 2,
    waveStatuses: [newWave(), newWave({ index: 1, name: 'prod', state: 'pending', approval: true })],
    gateVerdicts: [],
    transitions: [],
    excluded: [],
    ...patch,
  };
}

const at = (s) => `2026-12-06T09:00:${String(s).padStart(2, '0')}Z`;

describe('dashboard model: states told as they are', () => {
  it('tells an aborted rollout from a failback that failed, and offers nothing on either', () => {
    const aborted = newStatus({
      phase: 'Failed',
      transitions: [
        {
          at: at(1),
          from: 'Running/Converging',
          to: 'Failed',
          trigger: 'abort',
          reason: 'aborted by ada',
          actor: 'ada',
          wave: 0,
        },
      ],
    });
    expect(phaseLabel(aborted).text).toBe('aborted');
    expect(waveAwaitingApproval(aborted)).toBeUndefined();
    expect(actionsFor(aborted, 'admin')).toEqual([]);
    const failback = newStatus({
      phase: 'Failed',
      transitions: [{ ...aborted.transitions[0], trigger: 'rollback-failed' }],
    });
    expect(phaseLabel(failback).text).toBe('failback failed');
  });

  it('says rolling back while a wave is failed back, rolled back after', () => {
    expect(phaseLabel(newStatus({ phase: 'RollingBack' })).text).toBe('rolling back');
    expect(waveLabel(newWave({ state: 'rolling-back' })).text).toBe('rolling back');
    expect(waveLabel(newWave({ state: 'rolled-back' })).text).toBe('rolled back');
  });
});

describe('dashboard model: shares of the injected revision', () => {
  it('shows the share of units running the new revision as a percentage', () => {
    const share = waveShare(newWave({ onTarget: { units: 1, vmHosts: 0 }, desiredRevision: '1-25-2' }), '1-25-2');
    expect(share.units).toEqual({ on: 1, total: 4, pct: 25 });
    expect(share.movingBack).toBe(false);
  });

  it('never fills a failed-back wave like progress: its share counts units still on the new revision', () => {
    const back = newWave({ state: 'rolling-back', desiredRevision: '1-24-5', onTarget: { units: 1, vmHosts: 0 } });
    const share = waveShare(back, '1-25-2');
    expect(share.units.pct).toBe(25);
    expect(share.movingBack).toBe(true);
    // an older planner without onTarget: no share rather than converged-back units counted as progress
    expect(waveShare(newWave({ state: 'rolling-back' }), '1-25-2').units.on).toBe(0);
  });

  it('says 100% only when every unit is on it', () => {
    expect(
      waveShare(newWave({ units: counts({ converged: 199, moving: 1 }), onTarget: { units: 199, vmHosts: 0 } }), 'x')
        .units.pct,
    ).toBe(99);
  });
});

describe('dashboard model: actions by role and phase', () => {
  it('offers a viewer no action at all', () => {
    expect(actionsFor(newStatus({ phase: 'Halted' }), 'viewer')).toEqual([]);
  });

  it('offers an operator approve while a wave awaits it, resume on a halt, never pause on a halt', () => {
    const waiting = newStatus({
      wave: 1,
      wavePhase: 'Dispatching',
      waveStatuses: [
        newWave({ state: 'passed' }),
        newWave({ index: 1, name: 'prod', state: 'awaiting-approval', approval: true }),
      ],
    });
    expect(actionsFor(waiting, 'operator').map((a) => a.action)).toEqual(['approve', 'pause', 'rollback', 'abort']);
    const halted = newStatus({ phase: 'Halted', waveStatuses: [newWave({ state: 'rolled-back' })] });
    expect(actionsFor(halted, 'operator').map((a) => a.action)).toEqual(['resume', 'rollback', 'abort']);
  });
});

describe('dashboard model: the timeline keeps halts and exclusions', () => {
  it('lists transitions, decisive verdicts with their numbers and audited exclusions, newest first', () => {
    const status = newStatus({
      phase: 'Running',
      excluded: ['prod-1/search/Deployment/db'],
      transitions: [
        {
          at: at(1),
          from: 'Running/Soaking',
          to: 'Halted',
          trigger: 'gate-failed',
          reason: 'gate failed in wave 0',
          actor: 'engine',
          wave: 0,
        },
        {
          at: at(5),
          from: 'Halted',
          to: 'Running/Dispatching',
          trigger: 'resume',
          reason: 'resumed by ada',
          actor: 'ada',
          wave: 0,
        },
      ],
      gateVerdicts: [
        {
          wave: 0,
          outcome: 'Failed',
          reason: 'ErrorRateAboveMax',
          message: 'error ratio 0.042 > max 0.001',
          source: 'prometheus-error-rate',
          at: at(1),
          failed: ['prod-1/search/Deployment/db'],
          final: true,
        },
        {
          wave: 0,
          outcome: 'Inconclusive',
          reason: 'UnitsConverging',
          message: 'moving',
          source: 'agent-reports',
          at: at(0),
          failed: [],
          final: false,
        },
      ],
    });
    const audit = [
      {
        actor: 'ada',
        action: 'exclude',
        scope: 'r1',
        at: at(3),
        reason: 'db crash-loops',
        detail: { units: [{ cluster: 'prod-1', namespace: 'search', kind: 'Deployment', name: 'db' }] },
      },
    ];
    const entries = timeline(status, audit);
    expect(entries.map((e) => e.kind)).toEqual(['transition', 'action', 'transition', 'verdict']);
    expect(entries[3].detail).toBe('error ratio 0.042 > max 0.001');
    expect(entries[1]).toMatchObject({
      title: 'exclude by ada',
      detail: 'db crash-loops',
      units: ['prod-1/search/Deployment/db'],
    });
    expect(exclusions(status, audit)).toEqual([{ unit: 'prod-1/search/Deployment/db', entry: audit[0] }]);
  });

  it('keeps an inclusion in the short timeline as it keeps the exclusion, and the unit leaves the excluded list', () => {
    const units = [{ cluster: 'prod-1', namespace: 'search', kind: 'Deployment', name: 'db' }];
    const audit = [
      { actor: 'ada', action: 'exclude', scope: 'r1', at: at(3), reason: 'crash loop', detail: { units } },
      { actor: 'ada', action: 'include', scope: 'r1', at: at(9), reason: 'fixed in 2.3.1', detail: { units } },
    ];
    const entries = timeline(newStatus({ excluded: [] }), audit);
    expect(entries.map((e) => [e.title, e.detail, isNotable(e)])).toEqual([
      ['include by ada', 'fixed in 2.3.1', true],
      ['exclude by ada', 'crash loop', true],
    ]);
    expect(exclusions(newStatus({ excluded: [] }), audit)).toEqual([]);
  });
});
