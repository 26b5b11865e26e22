import { describe, expect, it } from 'vitest';
import { UnitState } from '@meshwave/contracts';
import { IstioLabel, MeshwaveAnnotation } from '@meshwave/istio';
import { assignments } from './command-ledger.js';
import { newPodView } from './pod-fixtures.js';
import { newDesiredState } from './command-fixtures.js';
import { assessUnit, unitWrites, type UnitAssignment, type UnitObservation } from './converge-decisions.js';

// A tag move (ADR 0035): the unit is labelled with the tag, which the agent points at the target; it restarts
// the unit's workloads and writes no label, at either granularity, and hands no namespace label over.
const NOW = Date.parse('2026-03-01T12:00:00Z');
const TAG = 'prod-stable';

const podOn = (revision: string, name: string) => newPodView({ revision, name, labels: { app: 'cart' } });

const observation = (revision: string, templateAnnotations: Record<string, string> = {}): UnitObservation => ({
  namespace: { name: 'shop', labels: { [IstioLabel.Revision]: TAG }, resourceVersion: '10' },
  workloads: [
    {
      workload: {
        namespace: 'shop',
        kind: 'Deployment',
        name: 'cart',
        labels: { [IstioLabel.Revision]: TAG },
        templateLabels: { app: 'cart', [IstioLabel.Revision]: TAG },
        templateAnnotations,
        selector: { app: 'cart' },
        replicas: 1,
        generation: 1,
        observedGeneration: 1,
        updatedReplicas: 1,
        availableReplicas: 1,
        progressDeadlineExceeded: false,
        resourceVersion: '20',
      },
      pods: [podOn(revision, 'cart-1')],
    },
  ],
  barePods: [],
});

const assignment = (granularity: 'namespace' | 'workload', revision: string): UnitAssignment => ({
  target:
    granularity === 'namespace'
      ? { namespace: 'shop', revision }
      : { namespace: 'shop', kind: 'Deployment', name: 'cart', revision },
  granularity,
  rolloutId: 'r1',
  generation: 1,
  wave: 0,
  progressDeadlineSeconds: 600,
  tag: TAG,
});

describe('a tag move', () => {
  it('the ledger carries the command tag to each unit', () => {
    const desired = newDesiredState({ tag: TAG, units: [{ namespace: 'shop', revision: '1-25-2' }] });
    const [unit] = assignments({ epoch: 1, seq: 1, rollouts: { r1: { seq: 1, desired } } }, 600).units;
    expect(unit?.tag).toBe(TAG);
  });

  for (const granularity of ['namespace', 'workload'] as const)
    it(`restarts a ${granularity} unit still on the old revision and writes no label`, () => {
      const a = assignment(granularity, '1-25-2');
      const o = observation('1-24-5');
      const assessed = assessUnit(a, o, NOW);
      expect(assessed.state).toBe(UnitState.Pending);
      expect(assessed.handoff).toBeUndefined();
      const writes = unitWrites(a, o, assessed.toRestart, new Date(NOW).toISOString());
      expect(writes.namespace).toBeUndefined();
      expect(writes.workloads).toHaveLength(1);
      expect(writes.workloads[0]).not.toHaveProperty('labels');
      expect(writes.workloads[0]).not.toHaveProperty('templateLabels');
      expect(writes.workloads[0]?.templateAnnotations).toMatchObject({ [MeshwaveAnnotation.RestartedFor]: '1-25-2' });
    });

  it('counts a unit whose pods the tag already injected with the target as converged, and a failback restarts it', () => {
    const moved = observation('1-25-2', { [MeshwaveAnnotation.RestartedFor]: '1-25-2' });
    expect(assessUnit(assignment('workload', '1-25-2'), moved, NOW).state).toBe(UnitState.Converged);
    const back = assessUnit(assignment('workload', '1-24-5'), moved, NOW);
    expect(back.state).toBe(UnitState.Pending);
    expect(back.toRestart).toHaveLength(1);
  });
});

// A rollout whose `to` is a revision tag (ADR 0046): the units are relabelled with the tag, and judged on the
// revision the tag points to now (`injects`, from the agent's watch of the tag webhooks).
describe('a target that is a revision tag', () => {
  const toTag = (injects?: string): UnitAssignment => {
    const { tag: _moved, ...relabel } = assignment('namespace', TAG);
    return { ...relabel, ...(injects !== undefined ? { injects } : {}) };
  };

  it("writes the tag as the namespace's label, and restarts what it injects onto", () => {
    const o = {
      ...observation('1-24-5'),
      namespace: { name: 'shop', labels: { [IstioLabel.Revision]: '1-24-5' }, resourceVersion: '10' },
    };
    const a = toTag('1-25-2');
    const assessed = assessUnit(a, o, NOW);
    expect(assessed.state).toBe(UnitState.Pending);
    const writes = unitWrites(a, o, assessed.toRestart, new Date(NOW).toISOString());
    expect(writes.namespace?.labels).toMatchObject({ [IstioLabel.Revision]: TAG });
  });

  it("counts its pods converged when the tag's revision injected them, which the tag's name alone cannot say", () => {
    const moved = observation('1-25-2', { [MeshwaveAnnotation.RestartedFor]: TAG });
    expect(assessUnit(toTag('1-25-2'), moved, NOW).state).toBe(UnitState.Converged);
    expect(assessUnit(toTag(), moved, NOW).state).not.toBe(UnitState.Converged);
  });
});
