import type { ClusterDesiredState } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { newAmbientInventory, newHarness, type Harness, type SpecOverrides } from './engine-harness.js';

// The ambient steps as engine waves (ADR 0051), driven by scripted agents that report each step of their desired
// state converged (or failed), before the gateway steps (ADR 0050).

function newAmbientHarness(overrides: SpecOverrides = {}): Harness {
  return newHarness(
    {
      ambient: { maxUnavailable: 2, soak: '2m' },
      gateways: { steps: [50, 100], soak: '5m' },
      ...overrides,
    } as SpecOverrides,
    newAmbientInventory(3),
  );
}

/** Every cluster desired state published, with the wave it went out at and the ambient steps (and nodes) it named. */
const sent = (h: Harness) =>
  h.fleet.published
    .filter((c) => c.kind === 'cluster')
    .map((c) => c.data as ClusterDesiredState)
    .map((d) => ({
      cluster: d.cluster,
      wave: d.wave,
      halted: d.halted,
      ambient: (d.ambient ?? []).map((a) => `${a.step}:${a.nodes.join(',')}@${a.version}`),
      gateways: (d.gateways ?? []).length,
    }));

describe('engine: ambient steps are waves after the workload waves, before the gateway steps (ADR 0051)', () => {
  it('Given 3 workload waves, 2 ztunnel node waves and 2 gateway steps, When everything converges, Then the node waves go out after the last workload wave, each soaked and gated, and the gateway steps after them', () => {
    const h = newAmbientHarness();
    expect(h.record.plan.ambientSteps.map((s) => s.name)).toEqual(['ztunnel-1', 'ztunnel-2']);
    expect(h.record.plan.gatewaySteps.map((s) => s.name)).toEqual(['gateways-50%', 'gateways-100%']);

    h.runUntil(['Completed']);

    expect(h.state.phase).toBe('Completed');
    const W = h.record.plan.waves.length;
    expect(h.triggers().slice(-16)).toEqual(
      [W, W + 1, W + 2, W + 3].flatMap((w) => [
        `dispatched:${w}`,
        `converged:${w}`,
        `soak-elapsed:${w}`,
        `${w === W + 3 ? 'last-gate-passed' : 'gate-passed'}:${w}`,
      ]),
    );
    const dispatched = h.state.history.filter((t) => t.trigger === 'dispatched').map((t) => t.reason);
    expect(dispatched.slice(W, W + 2)).toEqual([
      `ambient step "ztunnel-1" dispatched: 4 nodes' ztunnel to 1.25.2`,
      `ambient step "ztunnel-2" dispatched: 2 nodes' ztunnel to 1.25.2`,
    ]);
    // nothing ambient before the last workload wave passed its gate; no gateway before the last node wave did
    const states = sent(h);
    expect(states.filter((d) => d.ambient.length > 0).every((d) => d.wave >= W)).toBe(true);
    expect(states.filter((d) => d.gateways > 0).every((d) => d.wave >= W + 2)).toBe(true);
    // each node wave soaked its 2 minutes after it converged
    const finals = h.state.verdicts.filter((v) => v.final && v.wave >= W && v.wave < W + 2);
    const convergedAt = h.state.history.filter((t) => t.trigger === 'converged' && t.wave >= W && t.wave < W + 2);
    finals.forEach((v, i) => expect(Date.parse(v.at) - Date.parse(convergedAt[i]!.at)).toBe(120_000));
    expect(finals).toHaveLength(2);
  });

  it('Given ambient step k dispatched, When the desired states go out, Then each cluster lists the commands of steps 0..k, its own nodes only', () => {
    const h = newAmbientHarness();
    h.runUntil(['Completed']);
    const W = h.record.plan.waves.length;
    const at = (cluster: string, wave: number) =>
      sent(h)
        .filter((d) => d.cluster === cluster && d.wave === wave)
        .at(-1)?.ambient;
    for (const cluster of ['prod-1', 'prod-2']) {
      expect(at(cluster, W - 1)).toEqual([]);
      expect(at(cluster, W)).toEqual(['ztunnel-1:node-0,node-1@1.25.2']);
      expect(at(cluster, W + 1)).toEqual(['ztunnel-1:node-0,node-1@1.25.2', 'ztunnel-2:node-2@1.25.2']);
      // the gateway steps keep the ambient steps listed (an agent restarted then resumes nothing, all converged)
      expect(at(cluster, W + 3)).toEqual(['ztunnel-1:node-0,node-1@1.25.2', 'ztunnel-2:node-2@1.25.2']);
    }
  });

  it('Given a node wave the agent reports failed, When its gate fails, Then the rollout halts, the agents are told to halt, and the next node wave never goes out', () => {
    const h = newAmbientHarness();
    h.fleet.failingAmbient.add('ztunnel-1');
    h.runUntil(['Halted', 'Completed', 'Failed']);

    const W = h.record.plan.waves.length;
    expect(h.state.phase).toBe('Halted');
    expect(h.triggers()).toContain(`gate-failed:${W}`);
    expect(h.state.dispatchedWaves).toBe(W + 1);
    const states = sent(h);
    expect(states.some((d) => d.ambient.some((a) => a.startsWith('ztunnel-2')))).toBe(false);
    expect(states.at(-1)).toMatchObject({ halted: true, ambient: ['ztunnel-1:node-0,node-1@1.25.2'] });
    // a day later, still nothing further
    h.runUntil(['Completed'], new Date(h.now.getTime() + 86_400_000));
    expect(h.state.dispatchedWaves).toBe(W + 1);
  });

  it('Given a pause while a node wave soaks, When time passes, Then the agents are told to halt and no further node wave is dispatched until resumed', () => {
    const h = newAmbientHarness();
    const W = h.record.plan.waves.length;
    for (let i = 0; i < 200 && !(h.state.wave === W && h.state.wavePhase === 'Soaking'); i++) {
      h.settle();
      h.now = new Date(Math.max(h.last?.wakeAt?.getTime() ?? 0, h.now.getTime() + 1));
    }
    expect(h.state.wavePhase).toBe('Soaking');
    expect(h.act({ action: 'pause', reason: 'node pool incident' }).ok).toBe(true);
    h.runUntil(['Completed'], new Date(h.now.getTime() + 86_400_000));
    expect(h.state.dispatchedWaves).toBe(W + 1);
    expect(sent(h).at(-1)).toMatchObject({ halted: true, ambient: ['ztunnel-1:node-0,node-1@1.25.2'] });

    expect(h.act({ action: 'resume' }).ok).toBe(true);
    h.runUntil(['Completed']);
    expect(h.state.phase).toBe('Completed');
  });
});
