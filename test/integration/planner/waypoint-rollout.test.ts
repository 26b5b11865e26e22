// Waypoint steps dispatched by the planner (ADR 0051, 0056): the planner as a process on real Kafka and Redis, a real
// cluster-agent (under the chart's RBAC with `ambient=true`) on a real kube-apiserver with the Gateway API's
// `Gateway` kind. The test plays istiod's waypoint controller (each waypoint's Deployment rendered on its Gateway's
// `istio.io/rev`); an independent watch of the waypoint pods records when each waypoint's pods reach the revision.
import { randomUUID } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { type Plan, type RolloutStatus, type TransitionPage } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { registerRevisionTag, unregisterRevision } from '../../env/injector/registration.ts';
import { loadTestEnv } from '../../support/env.js';
import { NEW, OLD, eventually, newWorkload } from '../cluster-agent/fixtures.js';
import { ensureGatewayCrd } from '../cluster-agent/gateway-fixtures.js';
import {
  WaypointPodWatch,
  newWaypoint,
  readyWaypointRevisions,
  startIstiodWaypointDouble,
} from '../cluster-agent/waypoint-fixtures.js';
import { AGENT, stepTimes, useAgentSuite } from './real-agent.js';
import { api, leaderOf, newRun, startPlanner, until } from './planner-processes.js';

const env = loadTestEnv({ needClusters: 1 });
const cluster = env.clusters[0]!;
const injector = env.injector;
if (!injector) throw new Error('env.json has no injector: run `node test/env/env.ts up` with clusters');
const WAYPOINTS = ['waypoint-a', 'waypoint-b'];
const REPLICAS = 2;
/** a revision tag on the new revision: a rollout's `to` may name it (ADR 0046) */
const TAG = `waytag-${randomUUID().slice(0, 6)}`;
const { admin, cleanups, startAgent } = useAgentSuite(env, cluster, 'wayplan', [
  'ambient=true',
  `revisionTags={${TAG}}`,
]);

function rolloutYaml(ns: string, to: string): string {
  return [
    'apiVersion: meshwave.io/v1alpha1',
    'kind: Rollout',
    'metadata:',
    `  name: way-${ns}`,
    'spec:',
    `  from: ${OLD}`,
    `  to: ${to}`,
    '  deadline: "2030-01-01T00:00:00Z"',
    '  granularity: workload',
    '  defaults: { soak: 1s, maxUnavailable: 1, batchEstimate: 1s, progressDeadline: 60s }',
    '  waves:',
    `    - { name: workloads, percent: 100, select: { clusters: [${AGENT}], namespaces: [${ns}] } }`,
    '  ambient:',
    // no node of the shared apiserver is in this pool: the section moves the namespace's waypoints only
    `    select: { clusters: [${AGENT}], namespaces: [${ns}], pools: [none-${ns}] }`,
    '    waypointsPerStep: 1',
    '    soak: 1s',
    '',
  ].join('\n');
}

/**
 * Waypoints on the old revision move to `to` (a revision, or a tag on the new revision) one per step; every pod
 * must end ready on the new revision, the second waypoint's only after the first's.
 */
async function waypointsMoveOneByOne(to: string, tags: Readonly<Record<string, string>>): Promise<void> {
  await ensureGatewayCrd(cluster.kubeconfig);
  const ns = `wayr-${randomUUID().slice(0, 8)}`;
  await admin.core.createNamespace({
    body: { metadata: { name: ns, labels: { 'istio.io/dataplane-mode': 'ambient' } } },
  });
  cleanups.push(() => admin.core.deleteNamespace({ name: ns }));
  await newWorkload(admin, {
    namespace: ns,
    kind: 'Deployment',
    name: 'web',
    replicas: 1,
    templateLabels: { 'istio.io/rev': OLD },
  });
  for (const w of WAYPOINTS) await newWaypoint(cluster.kubeconfig, ns, w, OLD);
  cleanups.push(startIstiodWaypointDouble(admin, cluster.kubeconfig, ns, REPLICAS, tags));
  for (const w of WAYPOINTS)
    await eventually(`waypoint ${w}: ${REPLICAS} pods ready on ${OLD}`, async () => {
      const pods = await admin.core.listNamespacedPod({
        namespace: ns,
        labelSelector: `gateway.networking.k8s.io/gateway-name=${w}`,
      });
      const ready = pods.items.filter(
        (p) =>
          p.metadata?.annotations?.['istio.io/rev'] === OLD &&
          p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      return ready.length === REPLICAS;
    });
  const watch = new WaypointPodWatch(NEW);
  await watch.start(cluster.kubeconfig, ns);
  cleanups.push(() => watch.close());

  const yaml = rolloutYaml(ns, to);
  const run = newRun();
  await startAgent(run.topics);
  const p = await startPlanner(env, `way-${run.id}`, run, { MESHWAVE_GATE_RETRY_MS: '1000' });
  await until('leadership', () => leaderOf([p]));
  const plan = await until(
    'the workload wave and the waypoint steps planned',
    async () => {
      const planned = (await api<Plan>(p, 'POST', '/v1/plans', yaml)).body;
      return planned.ambientSteps?.length === WAYPOINTS.length && planned.waves[0]?.units.length === 1
        ? planned
        : undefined;
    },
    60_000,
  );
  expect(plan.ambientSteps.map((s) => [s.name, s.waypoints.map((w) => w.name)])).toEqual([
    ['waypoints-1', ['waypoint-a']],
    ['waypoints-2', ['waypoint-b']],
  ]);
  const created = await api<{ id: string }>(p, 'POST', '/v1/rollouts', yaml);
  expect(created.status).toBe(201);
  const rollout = created.body.id;

  const done = await until(
    'the rollout ended',
    async () => {
      const s = (await api<RolloutStatus>(p, 'GET', `/v1/rollouts/${rollout}`)).body;
      return ['Completed', 'Failed', 'RolledBack', 'Halted'].includes(s.phase) ? s : undefined;
    },
    240_000,
  );
  expect(done.phase).toBe('Completed');
  const page = (await api<TransitionPage>(p, 'GET', `/v1/rollouts/${rollout}/transitions?limit=200`)).body;
  const dispatched = [...page.transitions].sort((a, b) => a.seq - b.seq).filter((t) => t.trigger === 'dispatched');
  // the workload wave, then one step per waypoint
  expect(dispatched.map((t) => t.wave)).toEqual([0, 1, 2]);
  for (const w of WAYPOINTS)
    expect(await readyWaypointRevisions(admin, ns, w)).toEqual(Array.from({ length: REPLICAS }, () => NEW));
  // the second waypoint moved only once every pod of the first was ready on the new revision
  const [a, b] = WAYPOINTS as [string, string];
  expect(watch.allReadyOn.get(a)).toBeDefined();
  expect(watch.firstOn.get(b)).toBeGreaterThan(watch.allReadyOn.get(a)!);
  for (const w of WAYPOINTS) expect(await waypointLabel(ns, w)).toBe(to);
  console.log(`WAYPOINT-STEP via planner, to ${to} (dispatch → converged): ${stepTimes(page).join(', ')}`);
}

/** the `istio.io/rev` label of waypoint `name`'s Gateway */
async function waypointLabel(ns: string, name: string): Promise<string | undefined> {
  const gateway = (await objectsApi().getNamespacedCustomObject({
    group: 'gateway.networking.k8s.io',
    version: 'v1',
    namespace: ns,
    plural: 'gateways',
    name,
  })) as { metadata?: { labels?: Record<string, string> } };
  return gateway.metadata?.labels?.['istio.io/rev'];
}

function objectsApi(): k8s.CustomObjectsApi {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  return kc.makeApiClient(k8s.CustomObjectsApi);
}

describe('the planner moves waypoints by their revision, one step at a time (ADR 0051, 0056)', () => {
  it(`Given ${WAYPOINTS.length} waypoints on the old revision whose pods istiod runs, When a rollout with an ambient section of waypointsPerStep 1 runs, Then each waypoint's Gateway is relabelled in its own step, and an independent watch sees every pod of the first on the new revision before any pod of the second moves`, async () => {
    await waypointsMoveOneByOne(NEW, {});
  }, 300_000);

  it(`Given the same waypoints and a revision tag ${TAG} on the new revision, When the rollout's to is the tag, Then the sidecar workload converges on the tag with its pods on the new revision (the planner counts it), and each waypoint's Gateway is labelled with the tag in its own step, its pods rendered on the revision the tag points at, ready on the new revision in the same order`, async () => {
    await registerRevisionTag(cluster, injector, { tag: TAG, revision: NEW });
    cleanups.push(() => unregisterRevision(cluster, TAG, { tag: true }));
    await waypointsMoveOneByOne(TAG, { [TAG]: NEW });
  }, 300_000);
});
