import { AgentPhase, VmHostState } from '@meshwave/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decideGroup,
  newGroupRecord,
  type DecisionSettings,
  type GroupRecord,
  type HostRecord,
} from './batch-decision.js';
import { decideReports } from './report-decision.js';

// decideReports answers for a write of a few hosts only where the whole decision would change nothing but those
// hosts' states, and then answers as the whole decision does (ADR 0063).

const settings: DecisionSettings = { batchTimeoutMs: 60_000, reportStaleMs: 30_000 };
const names = Array.from({ length: 12 }, (_, i) => `h${String(i).padStart(2, '0')}`);

function newHost(name: string): HostRecord {
  return {
    name,
    desiredVersion: 'old',
    assignment: 0,
    previousVersion: 'old',
    state: VmHostState.Converged,
    report: { runningVersion: 'old', healthy: true, phase: AgentPhase.Idle, at: 0, assignment: 0 },
  };
}

/** A report a host may send: done on what it was told, still moving, unhealthy or failed. */
const reportKind = fc.constantFrom('done', 'moving', 'unhealthy', 'failed', 'heartbeat');

function reported(h: HostRecord, kind: string, at: number): HostRecord {
  const running = kind === 'done' ? h.desiredVersion : (h.report?.runningVersion ?? null);
  return {
    ...h,
    report: {
      runningVersion: running,
      healthy: kind !== 'unhealthy',
      phase: kind === 'moving' ? AgentPhase.Switching : AgentPhase.Idle,
      at,
      assignment: h.assignment,
      ...(kind === 'failed' ? { failedVersion: h.desiredVersion ?? 'x', lastError: 'boom' } : {}),
    },
  };
}

describe('decideReports', () => {
  it('Given any sequence of reports during a rollout, When it answers, Then the whole decision would have changed only the reporting hosts, to the same records', () => {
    let answeredInAll = 0;
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: names.length - 1 }), reportKind, fc.integer({ min: 0, max: 20_000 })),
          {
            maxLength: 60,
          },
        ),
        fc.integer({ min: 1, max: 4 }),
        (steps, maxUnavailable) => {
          let group: GroupRecord = {
            ...newGroupRecord(),
            command: {
              rolloutId: 'r',
              wave: 0,
              generation: 1,
              epoch: 1,
              from: 'old',
              to: 'new',
              maxUnavailable,
              targets: Object.fromEntries(names.map((n) => [n, 'new'])),
            },
          };
          let now = 1;
          let whole = decideGroup({ group, hosts: names.map(newHost), now, settings });
          group = whole.group;
          let hosts = new Map(whole.hosts.map((h) => [h.name, h] as const));
          let judged = { waiting: whole.waiting, recheckAt: whole.recheckAt };
          let answered = 0;
          for (const [i, kind, dt] of steps) {
            now += dt;
            const changed = [reported(hosts.get(names[i]!)!, kind, now)];
            const few = decideReports({
              group,
              recordOf: (n) => hosts.get(n),
              changed,
              now,
              settings,
              ...judged,
            });
            const merged = [...hosts.values()].map((h) => (h.name === changed[0]!.name ? changed[0]! : h));
            whole = decideGroup({ group, hosts: merged, now, settings });
            if (few !== undefined) {
              answered++;
              expect(whole.group).toEqual(group);
              expect(whole.events).toEqual([]);
              expect(few.hosts).toEqual(whole.hosts.filter((h) => h.name === changed[0]!.name));
              for (const h of whole.hosts) if (h.name !== changed[0]!.name) expect(h).toBe(hosts.get(h.name));
              hosts = new Map([...hosts, ...few.hosts.map((h) => [h.name, h] as const)]);
            } else {
              group = whole.group;
              hosts = new Map(whole.hosts.map((h) => [h.name, h] as const));
              judged = { waiting: whole.waiting, recheckAt: whole.recheckAt };
            }
          }
          answeredInAll += answered;
        },
      ),
      { numRuns: 300 },
    );
    // the few-hosts answer is the common case, not a corner
    expect(answeredInAll).toBeGreaterThan(300);
  });
});
