import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ApiErrorCode, type RolloutStatus } from '@meshwave/contracts';
import { ClientErrorCode, PlannerClientError, type PlannerClient } from '../adapters/planner-client.js';
import { LiveView } from '../commands/live-view.js';
import { DemoStoppedError, playScenario, type DemoProgress } from './demo-command.js';
import { DemoFleetConfig } from './fleet-config.js';

const WAVE = { name: 'canary', index: 0, approval: true, earliestStart: '2026-12-06T00:00:00Z', soakSeconds: 0 };
const COUNTS = { pending: 0, moving: 0, converged: 1, failed: 0, excluded: 0 };

/** The planner's status of a one-wave rollout awaiting its approval, or completed. */
function statusOf(phase: 'Running' | 'Completed', approved: boolean): RolloutStatus {
  return {
    id: 'r1',
    name: 'demo',
    from: '1-24-5',
    to: '1-25-2',
    phase,
    wave: 0,
    waves: 1,
    deadline: '2026-12-07T00:00:00Z',
    estimatedCompletion: '2026-12-06T01:00:00Z',
    deadlineAtRisk: false,
    waveStatuses: [
      {
        ...WAVE,
        state: phase === 'Completed' ? 'passed' : 'awaiting-approval',
        approved,
        forced: false,
        units: COUNTS,
        clusters: [],
        vmHosts: { pending: 0, upgrading: 0, converged: 0, failed: 0 },
        vmGroups: [],
        failedUnits: [],
      },
    ],
    gateVerdicts: [],
    excluded: [],
    approvedWaves: approved ? [0] : [],
    transitions: [],
  } as unknown as RolloutStatus;
}

/** A planner whose lease lapses once: the first approval is answered 503 NOT_LEADER, the next one is taken. */
function newPlannerBetweenLeaders() {
  const calls = { approvals: 0 };
  let approved = false;
  const client = {
    fleet: async () => ({ clusters: [{ name: 'c1' }] }),
    createRollout: async () => ({
      id: 'r1',
      phase: 'Pending',
      plan: { waves: [{ ...WAVE, counts: { workloads: 1, units: 1, vmHosts: 0 } }] },
    }),
    rolloutPlanSummary: async () => ({ waves: [{ ...WAVE, counts: {} }], counts: {} }),
    planWavePage: async () => ({ wave: 0, workloads: [], units: [], vmHosts: [] }),
    planSkippedPage: async () => ({ skipped: [], risks: [] }),
    rollout: async () => statusOf(approved ? 'Completed' : 'Running', approved),
    act: async () => {
      calls.approvals++;
      if (calls.approvals === 1)
        throw new PlannerClientError(ClientErrorCode.Api, 'this replica does not lead', {
          status: 503,
          body: { code: ApiErrorCode.NotLeader, message: 'this replica does not lead', details: [] },
        });
      approved = true;
      return { rolloutId: 'r1', phase: 'Running' };
    },
  };
  return { client: client as unknown as PlannerClient, calls };
}

describe('the demo operator while the planner is between leaders', () => {
  it('acts again at its next look when an action is answered 503 NOT_LEADER, and the rollout completes', async () => {
    // Given a planner that answers the first approval with NOT_LEADER (its lease lapsed under load)
    const { client, calls } = newPlannerBetweenLeaders();
    const said: string[] = [];
    const fleetConfig = DemoFleetConfig.parse({
      clusters: [{ name: 'c1', labels: { env: 'prod' }, namespaces: ['shop'], workloadsPerNamespace: 1 }],
      vmGroups: [],
    });
    const example = await readFile(new URL('../../../../examples/rollouts.yml', import.meta.url), 'utf8');
    const progress: DemoProgress = {};

    // When the demo plays its scenario
    const { status } = await playScenario(
      {
        options: { timeoutSeconds: 30 },
        io: { stdout: () => undefined, env: {} },
        fleetConfig,
        client,
        say: (text) => said.push(text),
        view: new LiveView(() => undefined, undefined),
      },
      example,
      progress,
    );

    // Then it approved again after the refusal, and followed the rollout to its end
    expect(calls.approvals).toBe(2);
    expect(status.phase).toBe('Completed');
    expect(said.some((s) => s.includes('NOT_LEADER'))).toBe(true);
    expect(said.filter((s) => s.startsWith('demo operator: approved'))).toHaveLength(1);
  });
});

describe('the demo stopped by a signal', () => {
  it('ends its scenario with DemoStoppedError at its next look, keeping the status it saw', async () => {
    // Given a rollout that waits for an approval nobody gives (the planner refuses every approval)
    const { client } = newPlannerBetweenLeaders();
    (client as unknown as { act: () => Promise<never> }).act = () => Promise.reject(new Error('refused'));
    const fleetConfig = DemoFleetConfig.parse({
      clusters: [{ name: 'c1', labels: { env: 'prod' }, namespaces: ['shop'], workloadsPerNamespace: 1 }],
      vmGroups: [],
    });
    const example = await readFile(new URL('../../../../examples/rollouts.yml', import.meta.url), 'utf8');
    const progress: DemoProgress = {};
    const stop = new AbortController();
    const seen: string[] = [];

    // When SIGTERM comes once the scenario has seen the rollout running
    const scenario = playScenario(
      {
        options: { timeoutSeconds: 30 },
        io: { stdout: () => undefined, env: {} },
        fleetConfig,
        client,
        say: () => undefined,
        view: new LiveView(() => undefined, undefined),
        stop: stop.signal,
        onStatus: (s) => {
          seen.push(s.phase);
          stop.abort('SIGTERM');
        },
      },
      example,
      progress,
    );

    // Then the scenario stops, saying which signal, and the status it saw is kept for the summary
    await expect(scenario).rejects.toBeInstanceOf(DemoStoppedError);
    await expect(scenario).rejects.toThrow('stopped by SIGTERM');
    expect(seen).toEqual(['Running']);
    expect(progress.status?.phase).toBe('Running');
    expect(progress.plan).toBeDefined();
  });
});

/** What fetch throws when the planner closed the connection before answering (undici's SocketError). */
function dropped(): PlannerClientError {
  const socketError = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
  return new PlannerClientError(ClientErrorCode.Unreachable, 'cannot reach the planner (UND_ERR_SOCKET)', {
    cause: Object.assign(new TypeError('fetch failed'), { cause: socketError }),
  });
}

/** A planner that drops the first status read and the first approval: connections closed under them. */
function newPlannerDropping() {
  const calls = { reads: 0, approvals: 0 };
  let approved = false;
  const { client } = newPlannerBetweenLeaders();
  const c = client as unknown as Record<string, unknown>;
  c.rollout = async () => {
    if (++calls.reads === 1) throw dropped();
    return statusOf(approved ? 'Completed' : 'Running', approved);
  };
  c.act = async () => {
    if (++calls.approvals === 1) throw dropped();
    approved = true;
    return { rolloutId: 'r1', phase: 'Running' };
  };
  return { client, calls };
}

describe('the demo operator when the planner drops a request', () => {
  it('sends a dropped status read again and decides a dropped approval again at its next look, saying so, and the rollout completes', async () => {
    // Given a planner that drops the first status read and the first approval
    const { client, calls } = newPlannerDropping();
    const said: string[] = [];
    const fleetConfig = DemoFleetConfig.parse({
      clusters: [{ name: 'c1', labels: { env: 'prod' }, namespaces: ['shop'], workloadsPerNamespace: 1 }],
      vmGroups: [],
    });
    const example = await readFile(new URL('../../../../examples/rollouts.yml', import.meta.url), 'utf8');

    // When the demo plays its scenario
    const { status } = await playScenario(
      {
        options: { timeoutSeconds: 30 },
        io: { stdout: () => undefined, env: {} },
        fleetConfig,
        client,
        say: (text) => said.push(text),
        view: new LiveView(() => undefined, undefined),
      },
      example,
      {},
    );

    // Then the read was sent again and the approval decided again, each said in its output, and it completed
    expect(status.phase).toBe('Completed');
    expect(calls.approvals).toBe(2);
    expect(said.filter((s) => s.includes('dropped GET /v1/rollouts/r1 (UND_ERR_SOCKET)'))).toHaveLength(1);
    expect(said.filter((s) => s.includes('dropped an action (UND_ERR_SOCKET)'))).toHaveLength(1);
    expect(said.filter((s) => s.startsWith('demo operator: approved'))).toHaveLength(1);
  });
});
