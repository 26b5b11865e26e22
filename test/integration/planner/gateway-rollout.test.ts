// Gateways moved by the planner (ADR 0050): the planner as a process on real Kafka and Redis, a real cluster-agent
// (in this process, under the chart's RBAC with `gatewayCanary=true`) on a real kube-apiserver with kwok nodes.
// The rollout's gateway steps are engine waves after its workload wave; an independent watch of the namespace's
// Deployments records every replica count the apiserver held, so a skipped step would show.
import { randomUUID } from 'node:crypto';
import { type Plan, type RolloutStatus, type TransitionPage } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { loadTestEnv } from '../../support/env.js';
import { NEW, OLD, eventually, newWorkload } from '../cluster-agent/fixtures.js';
import {
  DeploymentHistory,
  ensureGatewayCrd,
  gatewayApiSelector,
  newGateway,
  newGatewayApiGateway,
  readyPodRevisions,
  readyPodsBehind,
  startIstiodGatewayDouble,
} from '../cluster-agent/gateway-fixtures.js';
import { AGENT, stepTimes, useAgentSuite } from './real-agent.js';
import { api, leaderOf, newRun, startPlanner, until } from './planner-processes.js';

const env = loadTestEnv({ needClusters: 1 });
const cluster = env.clusters[0]!;
const { admin, cleanups, startAgent } = useAgentSuite(env, cluster, 'gwplan', ['gatewayCanary=true']);

/**
 * A namespace (no revision label: the gateway's own carries it) with a workload and (unless `injected: false`) a
 * gateway of 4 on the old revision.
 */
async function newGatewayNamespace(options: { quotaPods?: number; injected?: boolean } = {}): Promise<string> {
  const ns = `gwr-${randomUUID().slice(0, 8)}`;
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
    templateLabels: { 'istio.io/rev': OLD },
  });
  if (options.injected !== false) await newGateway(admin, ns, 'ingress', 4);
  const quotaPods = options.quotaPods;
  if (quotaPods !== undefined)
    await admin.core.createNamespacedResourceQuota({
      namespace: ns,
      body: { metadata: { name: 'pods' }, spec: { hard: { pods: String(quotaPods) } } },
    });
  return ns;
}

function rolloutYaml(ns: string, onGateFailure: string, gatewayLabels = '{ istio: ingressgateway }'): string {
  return [
    'apiVersion: meshwave.io/v1alpha1',
    'kind: Rollout',
    'metadata:',
    `  name: gw-${ns}`,
    'spec:',
    `  from: ${OLD}`,
    `  to: ${NEW}`,
    '  deadline: "2030-01-01T00:00:00Z"',
    '  granularity: workload',
    '  defaults: { soak: 1s, maxUnavailable: 1, batchEstimate: 1s, progressDeadline: 20s }',
    `  onGateFailure: ${onGateFailure}`,
    '  waves:',
    `    - { name: workloads, percent: 100, select: { clusters: [${AGENT}], namespaces: [${ns}] } }`,
    '  gateways:',
    `    select: { clusters: [${AGENT}], namespaces: [${ns}], gatewayLabels: ${gatewayLabels} }`,
    '    steps: [25, 50, 100]',
    '    soak: 1s',
    '',
  ].join('\n');
}

/** Starts the planner and the agent, waits for the gateway in the fleet, creates the rollout; its id. */
async function startRollout(
  ns: string,
  onGateFailure: string,
  planned = { steps: 3, gatewayLabels: '{ istio: ingressgateway }' },
): Promise<{ rollout: string; status: () => Promise<RolloutStatus>; transitions: () => Promise<TransitionPage> }> {
  const yaml = rolloutYaml(ns, onGateFailure, planned.gatewayLabels);
  const run = newRun();
  await startAgent(run.topics);
  const p = await startPlanner(env, `gw-${run.id}`, run, { MESHWAVE_GATE_RETRY_MS: '1000' });
  await until('leadership', () => leaderOf([p]));
  // the dry run plans the gateway steps once the agent's inventory (with the workload and the gateway) is in
  await until(
    'the gateway and the workload planned',
    async () => {
      const plan = (await api<Plan>(p, 'POST', '/v1/plans', yaml)).body;
      return plan.gatewaySteps?.length === planned.steps && plan.waves[0]?.units.length === 1 ? true : undefined;
    },
    60_000,
  );
  const created = await api<{ id: string; plan?: unknown }>(p, 'POST', '/v1/rollouts', yaml);
  expect(created.status).toBe(201);
  const rollout = created.body.id;
  return {
    rollout,
    status: async () => (await api<RolloutStatus>(p, 'GET', `/v1/rollouts/${rollout}`)).body,
    transitions: async () =>
      (await api<TransitionPage>(p, 'GET', `/v1/rollouts/${rollout}/transitions?limit=200`)).body,
  };
}

type Started = Awaited<ReturnType<typeof startRollout>>;

/** The rollout's status once `done` holds, or once it ended otherwise (the test's assertions then say how). */
function untilStatus(r: Started, what: string, done: (s: RolloutStatus) => boolean): Promise<RolloutStatus> {
  return until(
    what,
    async () => {
      const s = await r.status();
      return done(s) || ['Completed', 'Failed', 'RolledBack'].includes(s.phase) ? s : undefined;
    },
    240_000,
  );
}

/** A gateway namespace (see newGatewayNamespace) with an independent watch of its Deployments' replicas. */
async function newWatchedNamespace(
  options: Parameters<typeof newGatewayNamespace>[0] = {},
): Promise<{ ns: string; history: DeploymentHistory }> {
  const ns = await newGatewayNamespace(options);
  const history = new DeploymentHistory(cluster.kubeconfig, ns);
  await history.start();
  cleanups.push(() => history.stop());
  return { ns, history };
}

describe('the planner moves gateways by canary after the workloads (ADR 0050)', () => {
  it('Given a workload and a gateway of 4 on the old revision, When a rollout with steps 25/50/100 runs, Then the workload moves first, each step holds its share, no step is skipped and the completed rollout removes the old gateway', async () => {
    const { ns, history } = await newWatchedNamespace();
    const r = await startRollout(ns, 'rollback-wave');

    const done = await untilStatus(r, 'the rollout completed', (s) => s.phase === 'Completed');
    expect(done.phase).toBe('Completed');
    await eventually(
      'the old gateway Deployment is deleted',
      () => history.replicas.get('ingress')?.at(-1) === 'deleted',
    );
    expect(history.replicas.get('ingress')).toEqual([4, 3, 2, 0, 'deleted']);
    expect(history.replicas.get(`ingress-${NEW}`)).toEqual([1, 2, 4]);
    expect(await readyPodsBehind(admin, ns, 'ingress')).toEqual([NEW, NEW, NEW, NEW]);
    // the workload moved in wave 0, before any gateway step (waves 1..3)
    const page = await r.transitions();
    const dispatched = [...page.transitions].sort((a, b) => a.seq - b.seq).filter((t) => t.trigger === 'dispatched');
    expect(dispatched.map((t) => t.wave)).toEqual([0, 1, 2, 3]);
    const web = await admin.apps.readNamespacedDeployment({ namespace: ns, name: 'web' });
    expect(web.spec?.template.metadata?.labels?.['istio.io/rev']).toBe(NEW);
    console.log(`GATEWAY-STEP via planner (dispatch → converged): ${stepTimes(page).join(', ')}`);
  }, 300_000);

  it('Given a namespace whose pod quota leaves no room for the 100% step, When its new pods cannot come up and the gate fails, Then the steps are taken back one by one (100 → 50 → 25 → 0), the copy is removed and the old gateway serves every pod', async () => {
    // web 1 + gateway 4 + one pod of headroom: 25% (1 new beside 4 old) and 50% fit, 100% (4 new beside 2 old) does not
    const { ns, history } = await newWatchedNamespace({ quotaPods: 6 });
    const r = await startRollout(ns, 'rollback-wave');

    const halted = await untilStatus(
      r,
      'the gateway failback done',
      (s) => s.phase === 'Halted' && /back on/.test(s.reason ?? ''),
    );
    expect(halted.phase).toBe('Halted');
    await eventually('the copy is deleted', () => history.replicas.get(`ingress-${NEW}`)?.at(-1) === 'deleted');
    // the copy went up 1 → 2 → 4 (stuck at 3 ready) and back down through every step: 2, 1, then 0 and removed
    expect(history.replicas.get(`ingress-${NEW}`)).toEqual([1, 2, 4, 2, 1, 0, 'deleted']);
    expect(history.replicas.get('ingress')).toEqual([4, 3, 2, 3, 4]);
    expect(await readyPodsBehind(admin, ns, 'ingress')).toEqual([OLD, OLD, OLD, OLD]);
    const page = await r.transitions();
    const triggers = [...page.transitions].sort((a, b) => a.seq - b.seq).map((t) => `${t.trigger}:${t.wave}`);
    expect(triggers).toContain('gate-failed:3');
    expect(triggers.at(-1)).toBe('wave-rolled-back:3');
    const at = (trigger: string): number => Date.parse(page.transitions.find((t) => t.trigger === trigger)!.at);
    console.log(
      `GATEWAY-STEP via planner, failing (dispatch → converged): ${stepTimes(page).join(', ')}; failback of 3 steps (gate failed → back on the old revision): ${at('wave-rolled-back') - at('gate-failed')} ms`,
    );
  }, 300_000);

  it("Given a Gateway API gateway (its Deployment run by istiod), When the rollout reaches its gateway-api step, Then the agent moves the Gateway's istio.io/rev, istiod restarts the gateway and every pod comes up on the new revision", async () => {
    const ns = await newGatewayNamespace({ injected: false });
    await ensureGatewayCrd(cluster.kubeconfig);
    const deployment = await newGatewayApiGateway(admin, cluster.kubeconfig, ns, 'web-gw', 2);
    cleanups.push(startIstiodGatewayDouble(admin, cluster.kubeconfig, ns, 'web-gw', deployment));
    const r = await startRollout(ns, 'rollback-wave', { steps: 1, gatewayLabels: '{}' });

    const done = await untilStatus(r, 'the rollout completed', (s) => s.phase === 'Completed');
    expect(done.phase).toBe('Completed');
    const page = await r.transitions();
    const dispatched = [...page.transitions].sort((a, b) => a.seq - b.seq).filter((t) => t.trigger === 'dispatched');
    // the workload wave, then the gateway-api step
    expect(dispatched.map((t) => t.wave)).toEqual([0, 1]);
    expect(await readyPodRevisions(admin, ns, gatewayApiSelector('web-gw'))).toEqual([NEW, NEW]);
    console.log(`GATEWAY-STEP via planner, gateway-api (dispatch → converged): ${stepTimes(page).join(', ')}`);
  }, 300_000);
});
