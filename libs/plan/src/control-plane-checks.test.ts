import { describe, expect, it } from 'vitest';
import {
  Inventory,
  PlanProblemCode,
  RolloutSpec,
  SkipReason,
  type InventoryInput,
  type RolloutSpecInput,
} from '@meshwave/contracts';
import { isRefused } from './control-plane-checks.js';
import { planRollout } from './wave-planner.js';

const NOW = new Date('2026-11-23T08:00:00Z');

function newSpec(spec: Partial<RolloutSpecInput['spec']> = {}): RolloutSpec {
  return RolloutSpec.parse({
    apiVersion: 'meshwave.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'istio-upgrade' },
    spec: { from: '1-24-5', to: '1-25-2', deadline: '2027-03-01T00:00:00Z', waves: [{ name: 'all' }], ...spec },
  });
}

type ClusterInput = NonNullable<InventoryInput['clusters']>[number];

/** A cluster with both default revisions installed and ready, one workload per revision label given. */
function newCluster(name: string, labels: readonly (string | null)[], extra: Partial<ClusterInput> = {}): ClusterInput {
  return {
    name,
    controlPlanes: [
      { revision: '1-24-5', version: '1.24.5', ready: true },
      { revision: '1-25-2', version: '1.25.2', ready: true },
    ],
    workloads: labels.map((revision, i) => ({ namespace: 'shop', kind: 'Deployment', name: `w${i}`, revision })),
    ...extra,
  };
}

const plan = (clusters: ClusterInput[], spec: Partial<RolloutSpecInput['spec']> = {}) =>
  planRollout(newSpec(spec), Inventory.parse({ clusters }), { now: NOW });

const moved = (p: ReturnType<typeof plan>) => p.waves.flatMap((w) => w.workloads.map((x) => `${x.cluster}/${x.name}`));

describe('revision tags', () => {
  it('plans a unit labelled with a tag pointing to `from` like any other, and counts tags on `to` as done', () => {
    const p = plan([
      newCluster('c1', ['prod-stable', '1-24-5', 'prod-canary', 'other'], {
        tags: { 'prod-stable': '1-24-5', 'prod-canary': '1-25-2', other: '1-23-0' },
      }),
      // the same tag name in another cluster points elsewhere: each cluster resolves its own tags
      newCluster('c2', ['prod-stable'], { tags: { 'prod-stable': '1-25-2' } }),
    ]);
    expect(moved(p).sort()).toEqual(['c1/w0', 'c1/w1']);
    expect(p.skipped.map((s) => [s.cluster, s.name, s.reason, s.revision])).toEqual([
      ['c1', 'w2', SkipReason.AlreadyOnTarget, 'prod-canary'],
      ['c1', 'w3', SkipReason.NotOnFrom, 'other'],
      ['c2', 'w0', SkipReason.AlreadyOnTarget, 'prod-stable'],
    ]);
  });

  it('reads a `to` given as a tag through the cluster', () => {
    const p = plan([newCluster('c1', ['1-24-5'], { tags: { 'prod-canary': '1-25-2' } })], { to: 'prod-canary' });
    expect(p.problems).toEqual([]);
  });

  it("judges a `to` given as a tag on the revision it points to in each cluster: its version and its control plane's readiness (ADR 0046)", () => {
    const far = { revision: '1-27-0', version: '1.27.0', ready: true };
    const p = plan(
      [
        newCluster('ok', ['1-24-5'], { tags: { 'prod-canary': '1-25-2' } }),
        newCluster('far', ['1-24-5'], {
          tags: { 'prod-canary': '1-27-0' },
          controlPlanes: [{ revision: '1-24-5', version: '1.24.5', ready: true }, far],
        }),
        newCluster('down', ['1-24-5'], {
          tags: { 'prod-canary': '1-27-0' },
          controlPlanes: [
            { revision: '1-24-5', version: '1.24.5', ready: true },
            { ...far, ready: false },
          ],
        }),
      ],
      { to: 'prod-canary' },
    );
    expect(p.problems.map((x) => [x.code, x.cluster])).toEqual([
      [PlanProblemCode.UnsupportedUpgradePath, 'far'],
      [PlanProblemCode.ControlPlaneMissing, 'down'],
    ]);
    expect(p.problems[0]?.message).toContain('1.24.5 → 1.27.0');
    expect(isRefused(p.problems)).toBe(true);
  });
});

describe('control planes of the clusters a plan moves units in', () => {
  it('refuses when `to` is not installed or not ready in a selected cluster, naming the cluster', () => {
    const p = plan([
      newCluster('has-it', ['1-24-5']),
      newCluster('missing', ['1-24-5'], { controlPlanes: [{ revision: '1-24-5', version: '1.24.5', ready: true }] }),
      newCluster('not-ready', ['1-24-5'], {
        controlPlanes: [
          { revision: '1-24-5', version: '1.24.5', ready: true },
          { revision: '1-25-2', version: '1.25.2', ready: false },
        ],
      }),
      // nothing moves here, so its control planes do not matter
      newCluster('idle', ['1-25-2'], { controlPlanes: [] }),
    ]);
    const missing = p.problems.filter((x) => x.code === PlanProblemCode.ControlPlaneMissing);
    expect(missing.map((x) => x.cluster)).toEqual(['missing', 'not-ready']);
    expect(missing[0]!.message).toBe('revision 1-25-2 is not installed in cluster missing (control planes: 1-24-5)');
    expect(missing[1]!.message).toContain('not ready in cluster not-ready');
    expect(p.feasible).toBe(false);
    expect(isRefused(p.problems)).toBe(true);
  });

  it('refuses a jump of three minor versions, naming the versions, and lets a reason allow it', () => {
    const cluster = newCluster('c1', ['1-24-5'], {
      controlPlanes: [
        { revision: '1-24-5', version: '1.24.5', ready: true },
        { revision: '1-27-0', version: '1.27.0', ready: true },
      ],
    });
    const refused = plan([cluster], { to: '1-27-0' });
    expect(refused.problems).toMatchObject([
      { code: PlanProblemCode.UnsupportedUpgradePath, cluster: 'c1', blocking: true, refusal: true },
    ]);
    expect(refused.problems[0]!.message).toContain('1.24.5 → 1.27.0');
    const allowed = plan([cluster], { to: '1-27-0', allowUnsupportedUpgradePath: { reason: 'vendor build, tested' } });
    expect(allowed.feasible).toBe(true);
    expect(isRefused(allowed.problems)).toBe(false);
    expect(allowed.problems[0]!.message).toContain('allowed by spec.allowUnsupportedUpgradePath: vendor build, tested');
  });

  it('takes versions from the control planes, not from revision names', () => {
    const named = (to: string, version: string) =>
      plan(
        [
          newCluster('c1', ['1-24-5'], {
            controlPlanes: [
              { revision: '1-24-5', version: '1.24.5', ready: true },
              { revision: to, version, ready: true },
            ],
          }),
        ],
        { to },
      );
    expect(named('canary', '1.27.1').problems.map((x) => x.code)).toEqual([PlanProblemCode.UnsupportedUpgradePath]);
    expect(named('1-28-0', '1.26.0').problems).toEqual([]);
  });

  it('says so when a version is unknown or a cluster reports no control planes, without refusing', () => {
    const p = plan([
      newCluster('digest', ['1-24-5'], {
        controlPlanes: [
          { revision: '1-24-5', version: null, ready: true },
          { revision: '1-25-2', version: '1.25.2', ready: true },
        ],
      }),
      newCluster('old-agent', ['1-24-5'], { controlPlanes: undefined }),
    ]);
    expect(p.problems.map((x) => [x.code, x.cluster, x.blocking])).toEqual([
      [PlanProblemCode.ControlPlaneUnknown, 'digest', false],
      [PlanProblemCode.ControlPlaneUnknown, undefined, false],
    ]);
    expect(p.problems[0]!.message).toContain('the version of 1-24-5 (version null) is unknown');
    expect(p.problems[1]!.message).toContain('cluster old-agent reports no control planes');
    expect(p.feasible).toBe(true);
  });
});

describe('a tag move (spec.tag)', () => {
  it('moves only the workloads labelled with the tag, and says why the others stay', () => {
    const p = plan(
      [
        newCluster('c1', ['prod-stable', '1-24-5', 'prod-canary'], {
          tags: { 'prod-stable': '1-24-5', 'prod-canary': '1-24-5' },
        }),
      ],
      { tag: 'prod-stable' },
    );
    expect(moved(p)).toEqual(['c1/w0']);
    expect(p.skipped.map((s) => [s.name, s.reason])).toEqual([
      ['w1', SkipReason.NotTagged],
      ['w2', SkipReason.NotTagged],
    ]);
  });

  // Istio's revision-based path rule (ADR 0028) on the move of the tag itself: from the revision the tag points to
  // now, in each cluster where it moves, to `to` (ADR 0042).
  const tagged = (tags: Record<string, string>, versions: { from: string; to: string }) =>
    newCluster('c1', ['prod-stable'], {
      tags,
      controlPlanes: [
        { revision: '1-24-5', version: versions.from, ready: true },
        { revision: '1-25-2', version: versions.to, ready: true },
      ],
    });

  it('refuses moving a tag more than two minor versions from the revision it points to, naming the tag and both versions', () => {
    const p = plan([tagged({ 'prod-stable': '1-24-5' }, { from: '1.22.1', to: '1.25.2' })], { tag: 'prod-stable' });
    expect(moved(p)).toEqual(['c1/w0']);
    expect(p.problems).toEqual([
      expect.objectContaining({
        code: PlanProblemCode.UnsupportedUpgradePath,
        cluster: 'c1',
        blocking: true,
        refusal: true,
        message: expect.stringContaining(
          'moving tag prod-stable from 1-24-5 to 1-25-2: 1.22.1 → 1.25.2 is an upgrade of 3 minor versions',
        ),
      }),
    ]);
    expect(isRefused(p.problems)).toBe(true);
  });

  it('allows a tag move within two minor versions, and one beyond them with a reason, as a warning quoting it', () => {
    const near = plan([tagged({ 'prod-stable': '1-24-5' }, { from: '1.24.5', to: '1.26.0' })], { tag: 'prod-stable' });
    expect(near.problems).toEqual([]);
    const far = plan([tagged({ 'prod-stable': '1-24-5' }, { from: '1.22.1', to: '1.25.2' })], {
      tag: 'prod-stable',
      allowUnsupportedUpgradePath: { reason: 'tested on staging' },
    });
    expect(far.problems).toEqual([
      expect.objectContaining({
        code: PlanProblemCode.UnsupportedUpgradePath,
        blocking: false,
        message: expect.stringContaining('moving tag prod-stable from 1-24-5 to 1-25-2'),
      }),
    ]);
    expect(far.problems[0]!.message).toContain('allowed by spec.allowUnsupportedUpgradePath: tested on staging');
    expect(isRefused(far.problems)).toBe(false);
  });

  it('refuses a tag named like `from` or `to`, and a wave rollback (a tag points a whole cluster one way)', () => {
    expect(() => newSpec({ tag: '1-24-5' })).toThrow(/`tag` names a revision tag/);
    expect(() => newSpec({ tag: 'prod-stable', onGateFailure: 'rollback-wave' })).toThrow(/fails back whole clusters/);
    expect(newSpec({ tag: 'prod-stable', onGateFailure: 'rollback-all' }).spec.tag).toBe('prod-stable');
  });
});
