import { Inventory, RolloutStatus, type UnitProgress } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { newAmbientInventory, newHarness, type Harness } from '../core/engine-harness.js';
import type { Observations } from '../core/rollout-state.js';
import { buildAmbientStatus } from './ambient-status.js';
import { buildRolloutStatus } from './rollout-status.js';

// The ambient part of a rollout's status (ADR 0051): steps, and per cluster each node agent's nodes on target and
// cordoned, and the waypoints moved, from the engine's state and the agents' reports.

/** 3 nodes per cluster whose ztunnel moves to 1.25.2, and a waypoint on 1-24-5 in prod-1. */
function newAmbientStatusHarness(): Harness {
  const base = newAmbientInventory(3);
  const inventory = Inventory.parse({
    ...base,
    clusters: base.clusters.map((c) => ({
      ...c,
      ambient: {
        ...c.ambient,
        waypoints:
          c.name === 'prod-1' ? [{ namespace: 'orders', name: 'waypoint', revision: '1-24-5', for: 'service' }] : [],
      },
    })),
  });
  return newHarness({ ambient: { maxUnavailable: 2, soak: '2m' } } as never, inventory);
}

/** Runs the engine until its wave `w` went out (the fake agents converge every step at once). */
function runUntilDispatched(h: Harness, w: number): void {
  for (let i = 0; i < 500 && h.state.dispatchedWaves <= w; i++) {
    h.settle();
    const wake = h.last?.wakeAt;
    if (h.state.dispatchedWaves > w || wake === undefined) break;
    h.now = new Date(Math.max(wake.getTime(), h.now.getTime() + 1));
  }
}

/** The fake agents' reports, with prod-1's ambient entries replaced by `ambient`. */
function withProd1Ambient(h: Harness, ambient: UnitProgress['ambient']): Observations {
  const o = h.fleet.observations();
  const clusters = new Map(o.clusters);
  clusters.set('prod-1', { ...clusters.get('prod-1')!, ambient });
  return { ...o, clusters };
}

describe('rollout status: ambient steps as what they are (ADR 0051)', () => {
  it('Given a plan with node waves and a waypoint step, When nothing ambient went out yet, Then every step is pending and no node is on target', () => {
    const h = newAmbientStatusHarness();
    const status = buildAmbientStatus(h.record, h.state, h.fleet.observations())!;
    expect(status.steps.map((s) => [s.name, s.component, s.state, s.size])).toEqual([
      ['ztunnel-1', 'ztunnel', 'pending', 4],
      ['ztunnel-2', 'ztunnel', 'pending', 2],
      ['waypoints-1', 'waypoints', 'pending', 1],
    ]);
    expect(status.clusters.find((c) => c.cluster === 'prod-1')).toEqual({
      cluster: 'prod-1',
      nodeAgents: [{ component: 'ztunnel', version: '1.25.2', nodes: 3, onTarget: 0, cordoned: [], state: 'pending' }],
      waypoints: { total: 1, moved: 0 },
    });
  });

  it('Given the first node wave under way, When prod-1 reports one node moved and one held cordoned, Then its ztunnel shows 1 of 3 on target and that node cordoned', () => {
    const h = newAmbientStatusHarness();
    const W = h.record.plan.waves.length;
    runUntilDispatched(h, W);
    const observations = withProd1Ambient(h, [
      { step: 'ztunnel-1', state: 'moving', waiting: [{ name: 'node-1', state: 'moving', detail: 'replace' }] },
    ]);
    const status = buildAmbientStatus(h.record, h.state, observations)!;
    expect(status.steps.map((s) => s.state)).toEqual(['active', 'pending', 'pending']);
    const prod1 = status.clusters.find((c) => c.cluster === 'prod-1')!;
    expect(prod1.nodeAgents).toEqual([
      {
        component: 'ztunnel',
        version: '1.25.2',
        nodes: 3,
        onTarget: 1,
        cordoned: ['node-1'],
        state: 'moving',
        reason: 'node-1: replace',
      },
    ]);
    // and the other cluster, whose agent reported its step converged, has both nodes of the step on target
    expect(status.clusters.find((c) => c.cluster === 'prod-2')!.nodeAgents[0]).toMatchObject({
      onTarget: 2,
      cordoned: [],
    });
  });

  it('Given the rollout completed, When its status is read, Then every step is done, every node on target, none cordoned, the waypoint moved, and the status passes its schema', () => {
    const h = newAmbientStatusHarness();
    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
    const status = buildRolloutStatus(h.record, h.state, h.fleet.observations(), h.now);
    expect(RolloutStatus.parse(status).ambient).toEqual(status.ambient);
    expect(status.ambient!.steps.map((s) => s.state)).toEqual(['done', 'done', 'done']);
    for (const c of status.ambient!.clusters)
      expect(c.nodeAgents).toEqual([
        { component: 'ztunnel', version: '1.25.2', nodes: 3, onTarget: 3, cordoned: [], state: 'converged' },
      ]);
    expect(status.ambient!.clusters.find((c) => c.cluster === 'prod-1')!.waypoints).toEqual({ total: 1, moved: 1 });
  });

  it('Given a plan without an ambient section, When its status is read, Then it has no ambient part', () => {
    const h = newHarness();
    expect(buildRolloutStatus(h.record, h.state, h.fleet.observations(), h.now).ambient).toBeUndefined();
  });
});
