// Istio's gateway canary (ADR 0047) on a real kube-apiserver with kwok nodes, written by the agent's own identity
// as the Helm chart grants it with `gatewayCanary=true`: a second gateway Deployment on the new revision beside
// the old one, behind the same Service, the replicas shared out step by step, the old one scaled to 0 and removed
// at the end; a failback takes the same steps back. An independent watch of the namespace's Deployments records
// every replica count the apiserver held, so a skipped step would show.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKubernetesClient,
  runGatewayStep,
  type GatewayStepTarget,
  type KubernetesClient,
} from '@meshwave/cluster-agent';
import { loadTestEnv } from '../../support/env.ts';
import { newChartIdentity, type ChartIdentity } from './chart-identity.ts';
import { NEW, OLD, eventually, newAdminClients, type AdminClients } from './fixtures.ts';
import { DeploymentHistory, newGateway, readyPodsBehind } from './gateway-fixtures.ts';

const env = loadTestEnv({ needClusters: 1 });
const cluster = env.clusters[0]!;
const id = randomUUID().slice(0, 8);
const ns = `gw-${id}`;
const REPLICAS = 4;

let admin: AdminClients;
let identity: ChartIdentity;
let agentClient: KubernetesClient;
const histories: DeploymentHistory[] = [];

const newGatewayHere = (name: string): Promise<void> => newGateway(admin, ns, name, REPLICAS);
const readyPods = (name: string): Promise<(string | null)[]> => readyPodsBehind(admin, ns, name);

/** Runs one step to its end with the agent's client; logs its duration (the note reports it; nothing asserts it). */
async function step(gateway: string, percent: number, removeOld = false): Promise<void> {
  const target: GatewayStepTarget = { namespace: ns, name: gateway, revision: NEW, percent, removeOld };
  const started = Date.now();
  const outcome = await runGatewayStep(agentClient, target, { progressDeadlineMs: 120_000, intervalMs: 200 });
  console.log(`GATEWAY-STEP ${gateway} ${percent}%${removeOld ? ' (remove old)' : ''}: ${Date.now() - started} ms`);
  expect(outcome).toMatchObject({ state: 'converged' });
}

beforeAll(async () => {
  admin = newAdminClients(cluster.kubeconfig);
  identity = await newChartIdentity(cluster, admin, `gwagent-${id}`, ['gatewayCanary=true']);
  agentClient = createKubernetesClient({ kubeconfig: identity.kubeconfig });
  await admin.core.createNamespace({ body: { metadata: { name: ns } } });
}, 120_000);

afterAll(async () => {
  for (const h of histories) h.stop();
  agentClient?.close();
  await admin.core.deleteNamespace({ name: ns }).catch(() => undefined);
  await identity?.cleanup();
});

describe("a gateway's canary upgrade", () => {
  it('Given a gateway of 4 replicas on the old revision behind a Service, When it moves 10% → 50% → 100% and the old one is removed, Then each step holds its share of ready pods behind the same Service and no step is skipped', async () => {
    const history = new DeploymentHistory(cluster.kubeconfig, ns);
    histories.push(history);
    await history.start();
    await newGatewayHere('ingress');
    const copy = `ingress-${NEW}`;

    await step('ingress', 10);
    expect(await readyPods('ingress')).toEqual([OLD, OLD, OLD, NEW].sort());
    await step('ingress', 50);
    expect(await readyPods('ingress')).toEqual([OLD, OLD, NEW, NEW].sort());
    await step('ingress', 100);
    expect(await readyPods('ingress')).toEqual([NEW, NEW, NEW, NEW]);
    await step('ingress', 100, true);

    await eventually(
      'the watch saw the old gateway deleted',
      () => history.replicas.get('ingress')?.at(-1) === 'deleted',
    );
    expect(history.replicas.get('ingress')).toEqual([4, 3, 2, 0, 'deleted']);
    expect(history.replicas.get(copy)).toEqual([1, 2, 4]);
    const kept = await admin.apps.readNamespacedDeployment({ namespace: ns, name: copy });
    expect(kept.metadata?.labels?.['meshwave.io/gateway-canary-of']).toBe('ingress');
    expect(kept.spec?.template.metadata?.labels?.['istio.io/rev']).toBe(NEW);
    // a step run again writes nothing
    const again = await runGatewayStep(
      agentClient,
      { namespace: ns, name: 'ingress', revision: NEW, percent: 100, removeOld: true },
      { progressDeadlineMs: 10_000, intervalMs: 200 },
    );
    expect(again).toEqual({ state: 'converged', writes: [] });
  }, 420_000);

  it('Given a gateway moved to 50%, When its gate fails and the steps are taken back, Then it passes through 10% again before 0%, the copy is removed and the old revision serves every pod', async () => {
    const history = new DeploymentHistory(cluster.kubeconfig, ns);
    histories.push(history);
    await history.start();
    await newGatewayHere('edge');
    const copy = `edge-${NEW}`;

    await step('edge', 10);
    await step('edge', 50);
    // the gate judged the new pods bad: failback, newest step first
    await step('edge', 10);
    expect(await readyPods('edge')).toEqual([OLD, OLD, OLD, NEW].sort());
    await step('edge', 0);

    await eventually('the watch saw the copy deleted', () => history.replicas.get(copy)?.at(-1) === 'deleted');
    // the old side grows back before the copy shrinks, one step at a time
    expect(history.replicas.get('edge')).toEqual([4, 3, 2, 3, 4]);
    expect(history.replicas.get(copy)).toEqual([1, 2, 1, 0, 'deleted']);
    await eventually('every pod behind the Service is on the old revision again', async () => {
      return (await readyPods('edge')).join() === [OLD, OLD, OLD, OLD].join();
    });
  }, 420_000);
});
