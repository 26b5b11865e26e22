import { AgentPhase, VmHostState } from '@meshwave/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BatchEventKind,
  decideGroup,
  isAvailable,
  newGroupRecord,
  type DecisionSettings,
  type GroupCommand,
  type GroupRecord,
  type HostRecord,
} from './batch-decision.js';

const settings: DecisionSettings = { batchTimeoutMs: 60_000, reportStaleMs: 30_000 };

function newHost(name: string, version: string | null, over: Partial<HostRecord> = {}, now = 0): HostRecord {
  return {
    name,
    desiredVersion: version,
    assignment: 0,
    previousVersion: version,
    state: VmHostState.Converged,
    report: { runningVersion: version, healthy: true, phase: AgentPhase.Idle, at: now, assignment: 0 },
    ...over,
  };
}

function newCommand(hosts: readonly string[], to: string, over: Partial<GroupCommand> = {}): GroupCommand {
  return {
    rolloutId: 'r1',
    wave: 0,
    generation: 1,
    epoch: 1,
    from: 'old',
    to,
    maxUnavailable: 2,
    targets: Object.fromEntries(hosts.map((h) => [h, to])),
    ...over,
  };
}

function newFleet(n: number): HostRecord[] {
  return Array.from({ length: n }, (_, i) => newHost(`h${String(i).padStart(3, '0')}`, 'old'));
}

/** The host as its agent would report after acting on its assignment. */
function reportAfterActing(h: HostRecord, good: boolean, now: number): HostRecord {
  if (h.desiredVersion === h.report?.runningVersion) {
    return { ...h, report: { ...h.report, healthy: true, phase: AgentPhase.Idle, at: now, assignment: h.assignment } };
  }
  if (good || h.desiredVersion === 'old') {
    return {
      ...h,
      report: {
        runningVersion: h.desiredVersion,
        healthy: true,
        phase: AgentPhase.Idle,
        at: now,
        assignment: h.assignment,
      },
    };
  }
  return {
    ...h,
    report: {
      runningVersion: h.report?.runningVersion ?? null,
      healthy: true,
      phase: AgentPhase.Idle,
      failedVersion: h.desiredVersion ?? undefined,
      lastError: 'readiness probe failed',
      at: now,
      assignment: h.assignment,
    },
  };
}

describe('decideGroup', () => {
  it('starts a first batch of maxUnavailable hosts, in name order, remembering where each came from', () => {
    const hosts = newFleet(5);
    const d = decideGroup({
      group: {
        ...newGroupRecord(),
        command: newCommand(
          hosts.map((h) => h.name),
          'new',
        ),
      },
      hosts,
      now: 1,
      settings,
    });
    expect(d.group.batch?.hosts).toEqual(['h000', 'h001']);
    expect(d.hosts.filter((h) => h.desiredVersion === 'new').map((h) => h.name)).toEqual(['h000', 'h001']);
    expect(d.hosts.find((h) => h.name === 'h000')).toMatchObject({
      previousVersion: 'old',
      state: VmHostState.Upgrading,
      assignment: 1,
    });
    expect(d.events.map((e) => e.kind)).toEqual([BatchEventKind.Started]);
  });

  it('counts hosts that are already unhealthy against maxUnavailable', () => {
    const hosts = newFleet(5).map((h, i) => (i === 4 ? { ...h, report: { ...h.report!, healthy: false } } : h));
    const d = decideGroup({
      group: {
        ...newGroupRecord(),
        command: newCommand(
          hosts.map((h) => h.name),
          'new',
        ),
      },
      hosts,
      now: 1,
      settings,
    });
    expect(d.group.batch?.hosts).toEqual(['h000']);
  });

  it('counts silent hosts (stale reports) as unavailable and starts nothing when the budget is used up', () => {
    const hosts = newFleet(4).map((h, i) =>
      i >= 2 ? { ...h, report: { ...h.report!, at: -settings.reportStaleMs - 1 } } : h,
    );
    const d = decideGroup({
      group: {
        ...newGroupRecord(),
        command: newCommand(
          hosts.map((h) => h.name),
          'new',
        ),
      },
      hosts,
      now: 0,
      settings,
    });
    expect(d.group.batch).toBeUndefined();
    expect(d.blockedReason).toContain('2 of maxUnavailable 2');
  });

  it('waits for the whole batch to run the new version healthy before starting the next', () => {
    const hosts = newFleet(4);
    const group: GroupRecord = {
      ...newGroupRecord(),
      command: newCommand(
        hosts.map((h) => h.name),
        'new',
      ),
    };
    const d1 = decideGroup({ group, hosts, now: 1, settings });
    const oneDone = d1.hosts.map((h) => (h.name === 'h000' ? reportAfterActing(h, true, 2) : h));
    const d2 = decideGroup({ group: d1.group, hosts: oneDone, now: 2, settings });
    expect(d2.group.batch?.number).toBe(1);
    expect(d2.events).toEqual([]);
    const bothDone = d2.hosts.map((h) => (h.name === 'h001' ? reportAfterActing(h, true, 3) : h));
    const d3 = decideGroup({ group: d2.group, hosts: bothDone, now: 3, settings });
    expect(d3.events.map((e) => e.kind)).toEqual([BatchEventKind.Succeeded, BatchEventKind.Started]);
    expect(d3.group.batch).toMatchObject({ number: 2, hosts: ['h002', 'h003'] });
    expect(d3.hosts.find((h) => h.name === 'h000')?.state).toBe(VmHostState.Converged);
  });

  it('reverts a failing batch, halts the group and says which host failed and why', () => {
    const hosts = newFleet(4);
    const d1 = decideGroup({
      group: {
        ...newGroupRecord(),
        command: newCommand(
          hosts.map((h) => h.name),
          'bad',
        ),
      },
      hosts,
      now: 1,
      settings,
    });
    const reported = d1.hosts.map((h) => (h.name === 'h001' ? reportAfterActing(h, false, 2) : h));
    const d2 = decideGroup({ group: d1.group, hosts: reported, now: 2, settings });
    expect(d2.group.halted).toBe(true);
    expect(d2.group.haltReason).toContain('HostReportedFailure: host h001 could not run bad: readiness probe failed');
    expect(d2.group.batch).toBeUndefined();
    expect(d2.hosts.map((h) => [h.name, h.desiredVersion, h.state])).toEqual([
      ['h000', 'old', VmHostState.Reverted],
      ['h001', 'old', VmHostState.Failed],
      ['h002', 'old', VmHostState.Pending],
      ['h003', 'old', VmHostState.Pending],
    ]);
    expect(d2.events.map((e) => e.kind)).toEqual([BatchEventKind.Failed]);
  });

  it('fails a batch whose hosts do not report in time', () => {
    const hosts = newFleet(2);
    const d1 = decideGroup({
      group: { ...newGroupRecord(), command: newCommand(['h000'], 'new') },
      hosts,
      now: 0,
      settings,
    });
    const fresh = d1.hosts.map((h) => ({ ...h, report: { ...h.report!, at: settings.batchTimeoutMs } }));
    const d2 = decideGroup({ group: d1.group, hosts: fresh, now: settings.batchTimeoutMs, settings });
    expect(d2.group.haltReason).toContain('BatchTimeout: host h000');
    expect(d2.hosts[0]?.desiredVersion).toBe('old');
  });

  it('Given its own loop lagging, When a batch runs out of time, Then the bridge holds the timeout and judges it once its loop has kept up for the whole timeout', () => {
    const group = { ...newGroupRecord(), command: newCommand(['h000'], 'new') };
    const d1 = decideGroup({ group, hosts: newFleet(2), now: 0, settings });
    const fresh = d1.hosts.map((h) => ({ ...h, report: { ...h.report!, at: settings.batchTimeoutMs } }));
    const now = settings.batchTimeoutMs;
    const held = decideGroup({ group: d1.group, hosts: fresh, now, settings, holdTimeouts: true });
    expect(held.group.haltReason).toBeUndefined();
    expect(held.group.batch).toEqual(d1.group.batch);
    expect(held.events).toEqual([]);
    // caught up, the hosts get the whole timeout from the last instant the loop lagged (issue 15), not 1 ms
    const starvedAt = now;
    const soon = decideGroup({ group: held.group, hosts: held.hosts, now: now + 1, settings, starvedAt });
    expect(soon.group.haltReason).toBeUndefined();
    const later = now + settings.batchTimeoutMs;
    const judged = decideGroup({ group: soon.group, hosts: soon.hosts, now: later, settings, starvedAt });
    expect(judged.group.haltReason).toContain('BatchTimeout: host h000');
  });

  it('ignores a failure reported for an older assignment of the same version', () => {
    const hosts = [
      newHost('a', 'old', {
        report: {
          runningVersion: 'old',
          healthy: true,
          phase: AgentPhase.Idle,
          at: 0,
          assignment: 0,
          failedVersion: 'new',
        },
      }),
    ];
    const d = decideGroup({
      group: { ...newGroupRecord(), command: newCommand(['a'], 'new') },
      hosts,
      now: 1,
      settings,
    });
    const d2 = decideGroup({ group: d.group, hosts: d.hosts, now: 2, settings });
    expect(d2.group.halted).toBe(false);
    expect(d2.group.batch?.hosts).toEqual(['a']);
  });

  it('starts nothing new when halted, but still lets the batch in flight finish', () => {
    const hosts = newFleet(4);
    const d1 = decideGroup({
      group: {
        ...newGroupRecord(),
        command: newCommand(
          hosts.map((h) => h.name),
          'new',
        ),
      },
      hosts,
      now: 1,
      settings,
    });
    const halted: GroupRecord = { ...d1.group, halted: true, haltReason: 'operator' };
    const done = d1.hosts.map((h) => reportAfterActing(h, true, 2));
    const d2 = decideGroup({ group: halted, hosts: done, now: 2, settings });
    expect(d2.events.map((e) => e.kind)).toEqual([BatchEventKind.Succeeded]);
    expect(d2.group.batch).toBeUndefined();
    expect(d2.hosts.filter((h) => h.desiredVersion === 'new')).toHaveLength(2);
  });

  it('moves hosts in flight to a changed target at once (failback)', () => {
    const hosts = newFleet(4);
    const d1 = decideGroup({
      group: {
        ...newGroupRecord(),
        command: newCommand(
          hosts.map((h) => h.name),
          'new',
        ),
      },
      hosts,
      now: 1,
      settings,
    });
    const failback: GroupRecord = {
      ...d1.group,
      command: newCommand(
        hosts.map((h) => h.name),
        'old',
        { generation: 2 },
      ),
    };
    const d2 = decideGroup({ group: failback, hosts: d1.hosts, now: 2, settings });
    expect(d2.hosts.every((h) => h.desiredVersion === 'old')).toBe(true);
    expect(d2.hosts.find((h) => h.name === 'h000')?.assignment).toBe(2);
  });

  it('leaves hosts the command does not list where they are', () => {
    const hosts = newFleet(3);
    const d = decideGroup({
      group: { ...newGroupRecord(), command: newCommand(['h002'], 'new') },
      hosts,
      now: 1,
      settings,
    });
    expect(d.hosts.map((h) => h.desiredVersion)).toEqual(['old', 'old', 'new']);
  });
});

/** A step-by-step fleet: each host acts on its assignment after a random delay; bad hosts fail `new`. */
function simulate(params: {
  n: number;
  max: number;
  delays: number[];
  bad: Set<number>;
  down: Set<number>;
  steps: number;
}) {
  let hosts = newFleet(params.n).map((h, i) =>
    params.down.has(i) ? { ...h, report: { ...h.report!, healthy: false } } : h,
  );
  let group: GroupRecord = {
    ...newGroupRecord(),
    command: newCommand(
      hosts.map((h) => h.name),
      'new',
      { maxUnavailable: params.max },
    ),
  };
  const assignedAt = new Map<string, number>();
  let maxUnavailable = 0;
  let concurrentBatches = 0;
  let everNewAfterHalt = false;
  for (let now = 1; now <= params.steps; now++) {
    hosts = hosts.map((h, i) => {
      if (params.down.has(i)) return { ...h, report: { ...h.report!, at: now, healthy: false } };
      const since = assignedAt.get(`${h.name}#${h.assignment}`);
      if (since === undefined || now - since < (params.delays[i % params.delays.length] ?? 1)) {
        return h.report?.assignment === h.assignment ? { ...h, report: { ...h.report, at: now } } : h;
      }
      return reportAfterActing(h, !params.bad.has(i), now);
    });
    const wasHalted = group.halted;
    const d = decideGroup({ group, hosts, now, settings: { batchTimeoutMs: 1000, reportStaleMs: 1000 } });
    if (d.events.filter((e) => e.kind === BatchEventKind.Started).length > 1) concurrentBatches++;
    for (const h of d.hosts)
      if (!assignedAt.has(`${h.name}#${h.assignment}`)) assignedAt.set(`${h.name}#${h.assignment}`, now);
    if (wasHalted && d.hosts.some((h, i) => h.desiredVersion === 'new' && hosts[i]?.desiredVersion !== 'new'))
      everNewAfterHalt = true;
    // A host is unavailable while it is told to move and has not arrived, or while it is unhealthy.
    const unavailable = d.hosts.filter(
      (h) => !isAvailable(h, now, { batchTimeoutMs: 1000, reportStaleMs: 1000 }),
    ).length;
    maxUnavailable = Math.max(maxUnavailable, unavailable);
    group = d.group;
    hosts = [...d.hosts];
  }
  return { hosts, group, maxUnavailable, concurrentBatches, everNewAfterHalt };
}

describe('decideGroup properties', () => {
  const fleet = fc.record({
    n: fc.integer({ min: 1, max: 40 }),
    max: fc.integer({ min: 1, max: 8 }),
    delays: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 8 }),
  });

  it('never has more than maxUnavailable hosts unavailable (beyond those down from the start), and converges a healthy fleet', () => {
    fc.assert(
      fc.property(fleet, fc.integer({ min: 0, max: 3 }), ({ n, max, delays }, downCount) => {
        const down = new Set(Array.from({ length: Math.min(downCount, n) }, (_, i) => n - 1 - i));
        const r = simulate({ n, max, delays, bad: new Set(), down, steps: n * 6 + 20 });
        expect(r.maxUnavailable).toBeLessThanOrEqual(Math.max(max, down.size));
        expect(r.concurrentBatches).toBe(0);
        expect(r.group.halted).toBe(false);
        // every host that was up ends on the new version
        r.hosts.forEach((h, i) => {
          if (!down.has(i) && down.size < max) expect(h.report?.runningVersion).toBe('new');
        });
      }),
    );
  });

  it('halts on the first failing batch, reverts it, and moves no host to the new version afterwards', () => {
    fc.assert(
      fc.property(fleet, fc.integer({ min: 0, max: 39 }), ({ n, max, delays }, badIndex) => {
        const bad = new Set([badIndex % n]);
        const r = simulate({ n, max, delays, bad, down: new Set(), steps: n * 6 + 20 });
        expect(r.maxUnavailable).toBeLessThanOrEqual(max);
        expect(r.group.halted).toBe(true);
        expect(r.group.haltReason).toContain(`host h${String(badIndex % n).padStart(3, '0')}`);
        expect(r.everNewAfterHalt).toBe(false);
        const failed = r.hosts.find((h) => h.state === VmHostState.Failed);
        expect(failed?.report?.runningVersion).toBe('old');
        // reverted batch members are back on the old version
        for (const h of r.hosts.filter((x) => x.state === VmHostState.Reverted))
          expect(h.report?.runningVersion).toBe('old');
      }),
    );
  });
});
