// A tag move with a Gateway API gateway labelled with the tag (ADR 0056): the planner as a process on real Kafka
// and Redis, a real cluster-agent (under the chart's RBAC with `gatewayCanary=true` and the tag in `revisionTags`)
// on a real kube-apiserver. The test plays istiod: it renders the gateway's Deployment on the revision its Gateway's
// label resolves to, so a Gateway still following the tag would restart the moment the tag moves
// (istio/istio#59959). Independent watches record the Gateway's labels and when a gateway pod on `to` first appears.
import { randomUUID } from 'node:crypto';
import { type Plan, type RolloutStatus, type TransitionPage } from '@meshwave/contracts';
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
import { api, leaderOf, newRun, startPlanner, until } from './planner-processes.js';

const env = loadTestEnv({ needClusters: 1 });
const cluster = env.clusters[0]!;
const injector = env.injector;
if (!injector) throw new Error('env.json has no injector: run `node test/env/env.ts up` with clusters');
const TAG = `gwtag-${randomUUID().slice(0, 6)}`;
const { admin, cleanups, startAgent } = useAgentSuite(env, cluster, 'gwtag', [
  'gatewayCanary=true',
  `revisionTags={${TAG}}`,
]);

function rolloutYaml(ns: string): string {
  return [
    'apiVersion: meshwave.io/v1alpha1',
    'kind: Rollout',
    'metadata:',
    `  name: gwtag-${ns}`,
    'spec:',
    `  from: ${OLD}`,
    `  to: ${NEW}`,
    `  tag: ${TAG}`,
    '  deadline: "2030-01-01T00:00:00Z"',
    '  granularity: workload',
    // the workload wave soaks 3 s: a gateway following the tag would restart within it
    '  defaults: { soak: 3s, maxUnavailable: 1, batchEstimate: 1s, progressDeadline: 30s }',
    '  waves:',
    `    - { name: workloads, percent: 100, select: { clusters: [${AGENT}], namespaces: [${ns}] } }`,
    '  gateways:',
    `    select: { clusters: [${AGENT}], namespaces: [${ns}] }`,
    '    steps: [100]',
    '    soak: 1s',
    '',
  ].join('\n');
}

describe('a Gateway API gateway labelled with the moving tag moves in its own step (ADR 0056)', () => {
  it(`Given a workload and a Gateway both labelled with tag ${TAG} (pointing at the old revision), When a rollout moves the tag, Then the agent pins the Gateway to the old revision before the tag moves, no gateway pod runs the new revision before the gateway-api step went out, and that step labels the Gateway with the tag again and brings every pod onto the new revision`, async () => {
    await ensureGatewayCrd(cluster.kubeconfig);
    await registerRevisionTag(cluster, injector, { tag: TAG, revision: OLD });
    cleanups.push(() => unregisterRevision(cluster, TAG, { tag: true }));
    const ns = `gwt-${randomUUID().slice(0, 8)}`;
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

    const yaml = rolloutYaml(ns);
    const run = newRun();
    await startAgent(run.topics);
    const p = await startPlanner(env, `gwtag-${run.id}`, run, { MESHWAVE_GATE_RETRY_MS: '1000' });
    await until('leadership', () => leaderOf([p]));
    await until(
      'the workload and the gateway-api step planned',
      async () => {
        const plan = (await api<Plan>(p, 'POST', '/v1/plans', yaml)).body;
        return plan.gatewaySteps?.length === 1 && plan.waves[0]?.units.length === 1 ? true : undefined;
      },
      60_000,
    );
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
    expect(dispatched.map((t) => t.wave)).toEqual([0, 1]);
    // pinned to the old revision before the tag moved, labelled with the tag again in its own step
    expect(watch.labels).toEqual([TAG, OLD, TAG]);
    const gatewayStepAt = Date.parse(dispatched[1]!.at);
    expect(watch.firstPodOnNewAt).toBeDefined();
    expect(watch.firstPodOnNewAt!).toBeGreaterThan(gatewayStepAt);
    expect(await readyPodRevisions(admin, ns, gatewayApiSelector('shop'))).toEqual([NEW, NEW]);
    const web = await admin.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' });
    expect(web.items.map((x) => injectedRevisionOf(x.metadata?.annotations))).toContain(NEW);
    console.log(
      `GATEWAY-STEP via planner, gateway-api after a tag move (dispatch → converged): ${stepTimes(page).join(', ')}`,
    );
  }, 300_000);
});
