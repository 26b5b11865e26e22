import { describe, expect, it } from 'vitest';
import type { RolloutStatus } from '@meshwave/contracts';
import { renderRolloutStatus, rolloutStatusLines } from './progress-view.js';

/** A rollout in its first ztunnel node wave: one node of staging's 4 moved, one held cordoned. */
function newAmbientStatus(): RolloutStatus {
  return {
    id: 'r1',
    name: 'istio-1-25-2',
    from: '1-24-5',
    to: '1-25-2',
    phase: 'Running',
    wavePhase: 'Converging',
    wave: 6,
    waves: 4,
    createdAt: '2026-12-06T22:00:00Z',
    updatedAt: '2026-12-06T22:10:00Z',
    deadline: '2026-12-20T00:00:00Z',
    leaderEpoch: 1,
    generation: 9,
    waveStatuses: [],
    gateVerdicts: [],
    excluded: [],
    approvedWaves: [],
    estimatedCompletion: '2026-12-06T22:20:00Z',
    deadlineAtRisk: false,
    transitions: [],
    ambient: {
      steps: [
        { wave: 4, name: 'istio-cni-1', component: 'istio-cni', state: 'done', size: 2 },
        { wave: 5, name: 'istio-cni-2', component: 'istio-cni', state: 'done', size: 2 },
        { wave: 6, name: 'ztunnel-1', component: 'ztunnel', state: 'active', size: 2 },
        { wave: 7, name: 'waypoints-1', component: 'waypoints', state: 'pending', size: 1 },
      ],
      clusters: [
        {
          cluster: 'staging-eu-1',
          nodeAgents: [
            { component: 'istio-cni', version: '1.25.2', nodes: 4, onTarget: 4, cordoned: [], state: 'converged' },
            {
              component: 'ztunnel',
              version: '1.25.2',
              nodes: 4,
              onTarget: 1,
              cordoned: ['ambient-b-2'],
              state: 'moving',
            },
          ],
          waypoints: { total: 1, moved: 0 },
        },
      ],
    },
  };
}

describe('the progress lines of ambient steps (ADR 0051)', () => {
  it('Given a node wave under way, When the status is drawn, Then the steps, each node agent with its nodes on target and the cordoned nodes, and the waypoints show', () => {
    const text = renderRolloutStatus(newAmbientStatus());
    expect(text).toContain('ambient steps: istio-cni-1 done, istio-cni-2 done, ztunnel-1 active, waypoints-1 pending');
    expect(text).toMatch(/staging-eu-1 +istio-cni → 1\.25\.2 +\[#+\] 100% 4\/4 nodes/);
    expect(text).toMatch(/staging-eu-1 +ztunnel → 1\.25\.2 +\[#{6}\.{18}\] +25% 1\/4 nodes {3}cordoned: ambient-b-2/);
    expect(text).toMatch(/staging-eu-1 +waypoints → 1-25-2 .* 0\/1 waypoints/);
  });

  it('Given a rollout without ambient steps, When the status is drawn, Then no ambient line shows', () => {
    const { ambient: _, ...plain } = newAmbientStatus();
    expect(rolloutStatusLines(plain).filter((l) => l.key.startsWith('ambient'))).toEqual([]);
  });
});
