// Ambient node waves dispatched by the planner (ADR 0051): the planner as a process on real Kafka and Redis, a real
// cluster-agent (in this process, under the chart's RBAC with `ambient=true`) on a real kube-apiserver with kwok
// nodes. The rollout's ztunnel node waves are engine waves after its workload wave; an independent watch on the
// pool's nodes counts the cordoned ones at every event.
import { randomUUID } from 'node:crypto';
import { type Plan, type RolloutStatus, type TransitionPage } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { loadTestEnv } from '../../support/env.js';
import {
  CordonWatch,
  agentPodVersions,
  deletePoolNodes,
  newNodeAgent,
  newPoolNodes,
  setNodeAgentTemplate,
} from '../cluster-agent/ambient-fixtures.js';
import { NEW, OLD, newWorkload } from '../cluster-agent/fixtures.js';
import { AGENT, stepTimes, useAgentSuite } from './real-agent.js';
import { api, leaderOf, newRun, startPlanner, until } from './planner-processes.js';

const env = loadTestEnv({ needClusters: 1 });
const cluster = env.clusters[0]!;
const NODES = 4;
const MAX_UNAVAILABLE = 2;
const { admin, cleanups, startAgent } = useAgentSuite(env, cluster, 'ambplan', ['ambient=true']);

function rolloutYaml(ns: string, pool: string): string {
  return [
    'apiVersion: meshwave.io/v1alpha1',
    'kind: Rollout',
    'metadata:',
    `  name: amb-${ns}`,
    'spec:',
    `  from: ${OLD}`,
    `  to: ${NEW}`,
    '  deadline: "2030-01-01T00:00:00Z"',
    '  granularity: workload',
    '  defaults: { soak: 1s, maxUnavailable: 1, batchEstimate: 1s, progressDeadline: 60s }',
    '  waves:',
    `    - { name: workloads, percent: 100, select: { clusters: [${AGENT}], namespaces: [${ns}] } }`,
    '  ambient:',
    `    select: { clusters: [${AGENT}], pools: [${pool}] }`,
    `    maxUnavailable: ${MAX_UNAVAILABLE}`,
    '    soak: 1s',
    '',
  ].join('\n');
}

describe('the planner moves ztunnel node by node after the workloads (ADR 0051)', () => {
  it(`Given a workload on the old revision and ztunnel on OnDelete over ${NODES} kwok nodes with its template moved to 1.25.2, When a rollout with an ambient section of maxUnavailable ${MAX_UNAVAILABLE} runs, Then the workload moves first, then the node waves, every ztunnel runs 1.25.2, never more than ${MAX_UNAVAILABLE} nodes were cordoned and none is left cordoned`, async () => {
    const ns = `ambr-${randomUUID().slice(0, 8)}`;
    await admin.core.createNamespace({ body: { metadata: { name: ns } } });
    cleanups.push(() => admin.core.deleteNamespace({ name: ns }));
    await newWorkload(admin, {
      namespace: ns,
      kind: 'Deployment',
      name: 'web',
      replicas: 1,
      templateLabels: { 'istio.io/rev': OLD },
    });
    const pool = `ambr-${randomUUID().slice(0, 6)}`;
    const nodes = await newPoolNodes(admin, pool, NODES);
    cleanups.push(() => deletePoolNodes(admin, nodes));
    const agentSpec = { namespace: ns, kind: 'ztunnel', pool, revision: OLD } as const;
    await newNodeAgent(admin, { ...agentSpec, version: '1.24.5' }, NODES);
    await setNodeAgentTemplate(admin, { ...agentSpec, version: '1.25.2', revision: NEW });
    const watch = new CordonWatch();
    await watch.start(cluster, pool);
    cleanups.push(() => watch.close());

    const yaml = rolloutYaml(ns, pool);
    const run = newRun();
    await startAgent(run.topics);
    const p = await startPlanner(env, `amb-${run.id}`, run, { MESHWAVE_GATE_RETRY_MS: '1000' });
    await until('leadership', () => leaderOf([p]));
    // the dry run plans the node waves once the agent's inventory (with the pool's nodes and ztunnel) is in
    const plan = await until(
      'the workload and the node waves planned',
      async () => {
        const planned = (await api<Plan>(p, 'POST', '/v1/plans', yaml)).body;
        return planned.ambientSteps?.length === NODES / MAX_UNAVAILABLE && planned.waves[0]?.units.length === 1
          ? planned
          : undefined;
      },
      60_000,
    );
    expect(plan.ambientSteps.map((s) => [s.name, s.nodes.length])).toEqual([
      ['ztunnel-1', MAX_UNAVAILABLE],
      ['ztunnel-2', MAX_UNAVAILABLE],
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
    // the workload wave, then the node waves
    expect(dispatched.map((t) => t.wave)).toEqual([0, 1, 2]);
    expect(await agentPodVersions(admin, ns, 'ztunnel')).toEqual(nodes.map((n) => `${n} :1.25.2 ready`));
    const after = await admin.core.listNode({ labelSelector: `meshwave.io/node-pool=${pool}` });
    expect(after.items.filter((n) => n.spec?.unschedulable === true).map((n) => n.metadata!.name)).toEqual([]);
    expect(watch.events).toBeGreaterThan(0);
    expect(watch.maxCordoned).toBeGreaterThan(0);
    expect(watch.maxCordoned).toBeLessThanOrEqual(MAX_UNAVAILABLE);
    const web = await admin.apps.readNamespacedDeployment({ namespace: ns, name: 'web' });
    expect(web.spec?.template.metadata?.labels?.['istio.io/rev']).toBe(NEW);
    console.log(`NODE-WAVE via planner (dispatch → converged): ${stepTimes(page).join(', ')}`);
  }, 300_000);
});
