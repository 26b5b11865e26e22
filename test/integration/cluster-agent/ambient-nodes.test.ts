// Ambient mode node by node (ADR 0051) on a real kube-apiserver with kwok nodes, under the chart's RBAC with
// `ambient=true`: an istio-cni and a ztunnel DaemonSet on OnDelete over nodes of the test's own pool; the agent
// reports them, the plan cuts them into node waves of `maxUnavailable`, and the agent's node waves move each node's
// pod to the new template. An independent watch on the pool's nodes counts the cordoned ones at every event.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ambientStepCommand, planRollout } from '@meshwave/plan';
import {
  createKubernetesClient,
  nodeWavePass,
  runNodeWave,
  type KubernetesClient,
  type NodeWave,
} from '@meshwave/cluster-agent';
import { Inventory, RolloutSpec, UnitState, type AmbientStepCommand, type Plan } from '@meshwave/contracts';
import { systemClock } from '@meshwave/reconcile';
import { loadTestEnv } from '../../support/env.ts';
import { heldInventory, newAgentHarness, type AgentHarness } from './agent-harness.ts';
import {
  CordonWatch,
  agentPodVersions,
  deletePoolNodes,
  newNodeAgent,
  newPoolNodes,
  setNodeAgentTemplate,
} from './ambient-fixtures.ts';
import { NEW, OLD, eventually, newNamespace, newWorkload, uniqueName } from './fixtures.ts';

const env = loadTestEnv({ needClusters: 1 });
const cluster = env.clusters[0]!;
const NODES = 4;
const MAX_UNAVAILABLE = 2;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** A pool of kwok nodes with istio-cni and ztunnel on OLD, then their templates moved to NEW (`helm upgrade`). */
async function newAmbientPool(h: AgentHarness): Promise<{ pool: string; system: string; nodes: string[] }> {
  const pool = `amb-${randomUUID().slice(0, 6)}`;
  const nodes = await newPoolNodes(h.admin, pool, NODES);
  cleanups.push(() => deletePoolNodes(h.admin, nodes));
  const system = uniqueName('amb-system');
  await newNamespace(h.admin, system, {});
  cleanups.push(() => h.admin.core.deleteNamespace({ name: system }));
  for (const kind of ['istio-cni', 'ztunnel'] as const) {
    await newNodeAgent(h.admin, { namespace: system, kind, pool, version: '1.24.5', revision: OLD }, NODES);
    await setNodeAgentTemplate(h.admin, { namespace: system, kind, pool, version: '1.25.2', revision: NEW });
  }
  return { pool, system, nodes };
}

/** The plan of a rollout with an ambient section over `pool`, from the agent's own inventory. */
async function planFromInventory(
  h: AgentHarness,
  pool: string,
  namespaces: readonly string[],
  workloads: readonly string[] = [],
): Promise<{ plan: Plan; spec: RolloutSpec }> {
  // the report that holds the pool and every workload the test made: an earlier one may predate a workload
  const report = await eventually('the agent reports the pool with its node agents on 1.24.5', () => {
    const r = heldInventory(h);
    const ours = r?.ambient?.nodes.filter((n) => n.pool === pool) ?? [];
    const listed = new Set(r?.workloads.map((w) => `${w.namespace}/${w.name}`));
    const complete = workloads.every((w) => listed.has(w));
    return ours.length === NODES && ours.every((n) => n.agents.ztunnel === '1.24.5') && complete ? r : undefined;
  });
  const inventory = Inventory.parse({
    clusters: [
      {
        name: report.cluster,
        namespaces: report.namespaces?.filter((n) => namespaces.includes(n.name)),
        workloads: report.workloads.filter((w) => namespaces.includes(w.namespace)),
        controlPlanes: report.controlPlanes,
        tags: report.tags,
        ambient: report.ambient,
      },
    ],
  });
  const spec = RolloutSpec.parse({
    apiVersion: 'meshwave.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'ambient' },
    spec: {
      from: OLD,
      to: NEW,
      granularity: 'namespace',
      deadline: '2099-01-01T00:00:00Z',
      waves: [{ name: 'all' }],
      ambient: { select: { pools: [pool] }, maxUnavailable: MAX_UNAVAILABLE },
    },
  });
  return { plan: planRollout(spec, inventory, { now: new Date() }), spec };
}

/** Runs each ambient node wave of the plan to its end; logs its duration (the note reports it; nothing asserts it). */
async function runAmbientSteps(client: KubernetesClient, plan: Plan): Promise<void> {
  for (const step of plan.ambientSteps) {
    if (step.component === 'waypoints') continue;
    const wave: NodeWave = {
      component: step.component,
      version: step.nodes[0]!.version,
      nodes: step.nodes.map((n) => n.name),
      maxUnavailable: MAX_UNAVAILABLE,
      policy: 'wait',
      graceMs: 0,
    };
    const started = Date.now();
    // what the wave waited for, each change once, for the log
    const waited: string[] = [];
    const progress = await runNodeWave(client, wave, {
      clock: systemClock,
      intervalMs: 200,
      deadlineMs: 120_000,
      onPass: (passed) => {
        const now = passed.map((p) => `${p.node} ${p.state} ${p.detail ?? ''}`).join('; ');
        if (waited.at(-1) !== now) waited.push(now);
      },
    });
    console.log(`NODE-WAVE ${step.name} (${step.nodes.length} nodes): ${Date.now() - started} ms`);
    if (Date.now() - started > 5_000) console.log(`NODE-WAVE ${step.name} waited for:\n${waited.join('\n')}`);
    expect(progress.map((p) => [p.node, p.state])).toEqual(wave.nodes.map((n) => [n, 'converged']));
  }
}

describe('ambient mode, node by node, on a real apiserver', () => {
  it(`Given istio-cni and ztunnel on OnDelete over ${NODES} kwok nodes and their templates moved to 1.25.2, When the agent runs the plan's node waves of ${MAX_UNAVAILABLE}, its first agent killed after one pass, Then every pod runs 1.25.2, never more than ${MAX_UNAVAILABLE} nodes were cordoned, and none is left cordoned`, async () => {
    const h = await newAgentHarness(env, cluster, { chartValues: ['ambient=true'] });
    cleanups.push(() => h.close());
    const { pool, system, nodes } = await newAmbientPool(h);
    const watch = new CordonWatch();
    await watch.start(cluster, pool);
    cleanups.push(async () => watch.close());
    await h.startAgent();

    const { plan } = await planFromInventory(h, pool, [system]);
    expect(plan.ambientSteps.map((s) => [s.name, s.nodes.length])).toEqual([
      ['istio-cni-1', 2],
      ['istio-cni-2', 2],
      ['ztunnel-1', 2],
      ['ztunnel-2', 2],
    ]);
    expect(plan.problems.filter((p) => p.blocking)).toEqual([]);

    // an agent that cordons the first nodes and dies: the next one reads the marks back from the apiserver
    const first = createKubernetesClient({ kubeconfig: h.identity.kubeconfig });
    const firstWave = plan.ambientSteps[0]!;
    await nodeWavePass(
      first,
      {
        component: 'istio-cni',
        version: '1.25.2',
        nodes: firstWave.nodes.map((n) => n.name),
        maxUnavailable: MAX_UNAVAILABLE,
        policy: 'wait',
        graceMs: 0,
      },
      Date.now(),
    );
    first.close();
    const second = createKubernetesClient({ kubeconfig: h.identity.kubeconfig });
    cleanups.push(async () => second.close());
    await runAmbientSteps(second, plan);

    for (const kind of ['istio-cni', 'ztunnel'] as const)
      expect(await agentPodVersions(h.admin, system, kind)).toEqual(nodes.map((n) => `${n} :1.25.2 ready`));
    const after = await h.admin.core.listNode({ labelSelector: `meshwave.io/node-pool=${pool}` });
    expect(after.items.filter((n) => n.spec?.unschedulable === true).map((n) => n.metadata!.name)).toEqual([]);
    expect(
      after.items.flatMap((n) =>
        Object.keys(n.metadata?.annotations ?? {}).filter((k) => k.startsWith('meshwave.io/')),
      ),
    ).toEqual([]);
    expect(watch.events).toBeGreaterThan(0);
    expect(watch.maxCordoned).toBe(MAX_UNAVAILABLE);
  });

  it('Given a mixed cluster (a sidecar namespace on the old revision, an ambient namespace, ztunnel over the pool), When the agent runs the wave and, step after step, the node waves from its desired state, Then the sidecar namespace converges on the new revision, the ambient workload is never restarted, and every ztunnel runs 1.25.2', async () => {
    const h = await newAgentHarness(env, cluster, { chartValues: ['ambient=true'] });
    cleanups.push(() => h.close());
    const { pool, system, nodes } = await newAmbientPool(h);
    const sidecar = uniqueName('amb-sidecar');
    await newNamespace(h.admin, sidecar, { 'istio.io/rev': OLD });
    cleanups.push(() => h.admin.core.deleteNamespace({ name: sidecar }));
    await newWorkload(h.admin, { namespace: sidecar, kind: 'Deployment', name: 'web', replicas: 1 });
    const ambient = uniqueName('amb-mall');
    await newNamespace(h.admin, ambient, { 'istio.io/dataplane-mode': 'ambient' });
    cleanups.push(() => h.admin.core.deleteNamespace({ name: ambient }));
    await newWorkload(h.admin, { namespace: ambient, kind: 'Deployment', name: 'store', replicas: 2 });
    const storePods = async (): Promise<string[]> =>
      (await h.admin.core.listNamespacedPod({ namespace: ambient })).items.map((p) => p.metadata!.name!).sort();
    const before = await eventually('the ambient workload runs 2 pods', async () => {
      const pods = await storePods();
      return pods.length === 2 ? pods : undefined;
    });
    const watch = new CordonWatch();
    await watch.start(cluster, pool);
    cleanups.push(async () => watch.close());
    await h.startAgent();

    const { plan, spec } = await planFromInventory(
      h,
      pool,
      [system, sidecar, ambient],
      [`${sidecar}/web`, `${ambient}/store`],
    );
    expect(plan.waves.flatMap((w) => w.workloads.map((x) => `${x.namespace}/${x.name}`))).toEqual([`${sidecar}/web`]);
    expect(plan.skipped.map((s) => [s.name, s.reason])).toEqual([['store', 'ambient']]);

    // as the engine would: the wave's unit, then each ambient step added to the desired state once the one
    // before it converged; the agent runs them from its desired state
    const units = [{ namespace: sidecar, revision: NEW }];
    await h.send({ units });
    const dispatched: AmbientStepCommand[] = [];
    for (const step of plan.ambientSteps) {
      dispatched.push(ambientStepCommand(step, cluster.name, spec.spec)!);
      const started = Date.now();
      await h.send({ units, ambient: dispatched });
      await eventually(`the agent reports ${step.name} converged`, () =>
        h.lastProgress()?.ambient?.some((a) => a.step === step.name && a.state === 'converged'),
      );
      console.log(`AGENT-NODE-WAVE ${step.name} (${step.nodes.length} nodes): ${Date.now() - started} ms`);
    }
    await eventually('the sidecar namespace converged on the new revision', () =>
      h.lastProgress()?.units.some((u) => u.namespace === sidecar && u.state === UnitState.Converged),
    );

    expect(await agentPodVersions(h.admin, system, 'ztunnel')).toEqual(nodes.map((n) => `${n} :1.25.2 ready`));
    expect(await storePods()).toEqual(before);
    expect(watch.maxCordoned).toBeLessThanOrEqual(MAX_UNAVAILABLE);
  });
});
