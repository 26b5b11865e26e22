// A tag move failed back before its gateway-api step (ADR 0058): the planner as a process on real Kafka and Redis, a
// real cluster-agent (under the chart's RBAC with `gatewayCanary=true` and the tag in `revisionTags`) on a real
// kube-apiserver. The test plays istiod (it renders the gateway's Deployment on the revision its Gateway's label
// resolves to); independent watches record the Gateway's labels and pin annotations, and any gateway pod on `to`.
import { randomUUID } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { PINNED_TAG_ANNOTATION, type RolloutStatus, type TransitionPage } from '@meshwave/contracts';
import { injectedRevisionOf } from '@meshwave/istio';
import { describe, expect, it } from 'vitest';
import { registerRevisionTag, unregisterRevision } from '../../env/injector/registration.ts';
import { loadTestEnv } from '../../support/env.js';
import { NEW, OLD, newWorkload } from '../cluster-agent/fixtures.js';
import {
  ensureGatewayCrd,
  gatewayApiSelector,
  newGatewayApiGateway,
  readyPodRevisions,
  startIstiodGatewayDouble,
} from '../cluster-agent/gateway-fixtures.js';
import { GatewayWatch } from './gateway-watch.js';
import { AGENT, stepTimes, useAgentSuite } from './real-agent.js';
import { api, leaderOf, newRun, startPlanner, until, type PlannerProcess } from './planner-processes.js';

const env = loadTestEnv({ needClusters: 1 });
const cluster = env.clusters[0]!;
const injector = env.injector;
if (!injector) throw new Error('env.json has no injector: run `node test/env/env.ts up` with clusters');
const TAG = `gwfb-${randomUUID().slice(0, 6)}`;
const { admin, cleanups, startAgent } = useAgentSuite(env, cluster, 'gwfb', [
  'gatewayCanary=true',
  `revisionTags={${TAG}}`,
]);

function rolloutYaml(ns: string, soak: string): string {
  return [
    'apiVersion: meshwave.io/v1alpha1',
    'kind: Rollout',
    'metadata:',
    `  name: gwfb-${ns}`,
    'spec:',
    `  from: ${OLD}`,
    `  to: ${NEW}`,
    `  tag: ${TAG}`,
    '  deadline: "2030-01-01T00:00:00Z"',
    '  granularity: workload',
    `  defaults: { soak: ${soak}, maxUnavailable: 1, batchEstimate: 1s, progressDeadline: 30s }`,
    '  waves:',
    `    - { name: workloads, percent: 100, select: { clusters: [${AGENT}], namespaces: [${ns}] } }`,
    '  gateways:',
    `    select: { clusters: [${AGENT}], namespaces: [${ns}] }`,
    '    steps: [100]',
    '    soak: 1s',
    '',
  ].join('\n');
}

async function readGatewayMeta(ns: string, name: string): Promise<k8s.V1ObjectMeta | undefined> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  const o = (await kc.makeApiClient(k8s.CustomObjectsApi).getNamespacedCustomObject({
    group: 'gateway.networking.k8s.io',
    version: 'v1',
    namespace: ns,
    plural: 'gateways',
    name,
  })) as { metadata?: k8s.V1ObjectMeta };
  return o.metadata;
}

/**
 * Given a workload and a Gateway `shop` labelled with the tag (pointing at the old revision), watched, and a planner
 * with the real agent: creates the rollout (`soak` per wave) and returns where to follow it.
 */
async function givenTagRollout(
  soak: string,
): Promise<{ p: PlannerProcess; path: string; ns: string; watch: GatewayWatch }> {
  await ensureGatewayCrd(cluster.kubeconfig);
  await registerRevisionTag(cluster, injector!, { tag: TAG, revision: OLD });
  cleanups.push(() => unregisterRevision(cluster, TAG, { tag: true }));
  const ns = `gwfb-${randomUUID().slice(0, 8)}`;
  await admin.core.createNamespace({ body: { metadata: { name: ns } } });
  cleanups.push(() =>
    admin.core.deleteNamespace({ name: ns }).then(
      () => undefined,
      () => undefined,
    ),
  );
  await newWorkload(admin, {
    namespace: ns,
    kind: 'Deployment',
    name: 'web',
    replicas: 1,
    templateLabels: { 'istio.io/rev': TAG },
  });
  const deployment = await newGatewayApiGateway(admin, cluster.kubeconfig, ns, 'shop', 2, TAG);
  cleanups.push(startIstiodGatewayDouble(admin, cluster.kubeconfig, ns, 'shop', deployment));
  const watch = new GatewayWatch(cluster.kubeconfig, NEW);
  await watch.start(ns, 'shop');
  cleanups.push(() => watch.close());

  const run = newRun();
  await startAgent(run.topics);
  const p = await startPlanner(env, `gwfb-${run.id}`, run, { MESHWAVE_GATE_RETRY_MS: '1000' });
  await until('leadership', () => leaderOf([p]));
  const created = await until(
    'the rollout created',
    async () => {
      const r = await api<{ id: string }>(p, 'POST', '/v1/rollouts', rolloutYaml(ns, soak));
      return r.status === 201 ? r.body : undefined;
    },
    60_000,
  );
  return { p, path: `/v1/rollouts/${encodeURIComponent(created.id)}`, ns, watch };
}

/** The rollout's status once in one of `phases`, or ended otherwise (RolledBack, Failed: the test's expect says). */
async function untilPhase(p: PlannerProcess, path: string, phases: readonly string[]): Promise<RolloutStatus> {
  return until(
    `the rollout ${phases.join(' or ')}`,
    async () => {
      const s = (await api<RolloutStatus>(p, 'GET', path)).body;
      return [...phases, 'RolledBack', 'Failed'].includes(s.phase) ? s : undefined;
    },
    240_000,
  );
}

const action = (p: PlannerProcess, path: string, verb: string) =>
  api(p, 'POST', `${path}/${verb}`, JSON.stringify({ reason: `test: ${verb}` }), 'application/json');

/** The Gateway, once labelled with the tag again: its labels and annotations then. */
async function untilFollowsTag(ns: string): Promise<k8s.V1ObjectMeta> {
  return until(
    'the Gateway labelled with the tag again',
    async () => {
      const meta = await readGatewayMeta(ns, 'shop');
      return meta?.labels?.['istio.io/rev'] === TAG ? meta : undefined;
    },
    60_000,
  );
}

describe('a Gateway pinned before its tag moved follows the tag again after a failback (ADR 0058)', () => {
  it(`Given a workload and a Gateway labelled with tag ${TAG}, When a rollout moves the tag and the operator halts it and fails it back before the gateway-api step, Then the Gateway is labelled with the tag again, unpinned, and no gateway pod ever ran the new revision`, async () => {
    // Given: the rollout moved the tag, its workload converged on the new revision, the Gateway pinned to the old;
    // the workload wave soaks long, so the gateway-api step has not gone out
    const { p, path, ns, watch } = await givenTagRollout('10m');
    await until(
      'the workload wave converged and soaking',
      async () => {
        const s = (await api<RolloutStatus>(p, 'GET', path)).body;
        return s.wavePhase === 'Soaking' && s.waveStatuses[0]?.units.converged === 1 ? s : undefined;
      },
      120_000,
    );
    expect(watch.labels).toEqual([TAG, OLD]);
    expect(watch.pinnedTags.at(-1)).toBe(TAG);

    // When: halted, then failed back
    const paused = await action(p, path, 'pause');
    expect(paused.status, JSON.stringify(paused.body)).toBe(200);
    const back = await action(p, path, 'rollback');
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    expect((await untilPhase(p, path, ['RolledBack'])).phase).toBe('RolledBack');

    // Then: the Gateway follows the tag again (which names the old revision), its pin gone, and it never restarted
    // onto the new revision
    const meta = await untilFollowsTag(ns);
    expect(meta.annotations?.[PINNED_TAG_ANNOTATION]).toBeUndefined();
    expect(watch.labels).toEqual([TAG, OLD, TAG]);
    expect(watch.pinnedTags).toEqual(['', TAG, '']);
    expect(watch.firstPodOnNewAt).toBeUndefined();
    expect(await readyPodRevisions(admin, ns, gatewayApiSelector('shop'))).toEqual([OLD, OLD]);
    const web = await admin.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' });
    expect(web.items.map((x) => injectedRevisionOf(x.metadata?.annotations))).toContain(OLD);
  }, 360_000);

  it(`Given a tag rollout with tag ${TAG} that completed (its gateway-api step labelled the Gateway with the tag, on the new revision), When the operator rolls it back, Then once the tag names the old revision again the Gateway follows it, unpinned, every pod on the old revision`, async () => {
    const { p, path, ns, watch } = await givenTagRollout('2s');
    expect((await untilPhase(p, path, ['Completed'])).phase).toBe('Completed');
    expect(watch.labels).toEqual([TAG, OLD, TAG]);

    const back = await action(p, path, 'rollback');
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    expect((await untilPhase(p, path, ['RolledBack'])).phase).toBe('RolledBack');

    const meta = await untilFollowsTag(ns);
    expect(meta.annotations?.[PINNED_TAG_ANNOTATION]).toBeUndefined();
    // pinned, the tag again in its step; then, as the failback's 0% step and the tag's move back come in either
    // order, pinned to the old revision by the step and/or to the new one by the agent just before the tag moves
    // back (ADR 0056), and the tag again once it names the old revision
    expect(watch.labels.slice(0, 3)).toEqual([TAG, OLD, TAG]);
    const between = watch.labels.slice(3, -1);
    expect(between.length).toBeGreaterThan(0);
    expect(between.filter((l) => l !== OLD && l !== NEW)).toEqual([]);
    expect(watch.labels.at(-1)).toBe(TAG);
    expect(watch.pinnedTags.at(-1)).toBe('');
    expect(await readyPodRevisions(admin, ns, gatewayApiSelector('shop'))).toEqual([OLD, OLD]);
    const page = (await api<TransitionPage>(p, 'GET', `${path}/transitions?limit=200`)).body;
    console.log(`GATEWAY-FAILBACK via planner (dispatch → converged): ${stepTimes(page).join(', ')}`);
  }, 360_000);
});
