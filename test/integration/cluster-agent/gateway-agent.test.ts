// The cluster-agent moving a gateway by canary from the planner's desired state (ADR 0047), over Kafka, on a real
// apiserver, under the chart's RBAC with `gatewayCanary=true`: it reports the gateway apart from its workloads in
// its inventory (with the copy beside it once there is one), runs each step the desired state names, and
// reports each step's state in its progress.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MessageType,
  type GatewayStepCommand,
  type InventoryDelta,
  type InventoryReport,
  type UnitProgress,
} from '@meshwave/contracts';
import { loadTestEnv } from '../../support/env.ts';
import { newAgentHarness, type AgentHarness } from './agent-harness.ts';
import { NEW, OLD, eventually, newNamespace, newWorkload } from './fixtures.ts';
import { newGateway, readyPodsBehind } from './gateway-fixtures.ts';

const env = loadTestEnv({ needClusters: 1 });
const cluster = env.clusters[0]!;
const ns = `gwa-${randomUUID().slice(0, 8)}`;
let h: AgentHarness;

beforeAll(async () => {
  h = await newAgentHarness(env, cluster, { chartValues: ['gatewayCanary=true'] });
  await newNamespace(h.admin, ns);
  await newWorkload(h.admin, { namespace: ns, kind: 'Deployment', name: 'web', replicas: 1 });
  await newGateway(h.admin, ns, 'ingress', 4);
  await h.startAgent();
}, 180_000);

afterAll(async () => {
  await h?.admin.core.deleteNamespace({ name: ns }).catch(() => undefined);
  await h?.close();
});

/** The gateways the agent's latest inventory message (whole or delta) that names any said for the namespace. */
function reportedGateways(): NonNullable<InventoryReport['gateways']> | undefined {
  const reports = h.events
    .filter((e) => e.type === MessageType.Inventory || e.type === MessageType.InventoryDelta)
    .map((e) => e.data as InventoryReport | InventoryDelta)
    .filter((r) => r.gateways !== undefined);
  return reports.at(-1)?.gateways?.filter((g) => g.namespace === ns);
}

const gatewayProgress = (): UnitProgress['gateways'] => h.lastProgress()?.gateways;

async function sendStep(percent: number, removeOld = false): Promise<void> {
  const gateways: GatewayStepCommand[] = [{ namespace: ns, name: 'ingress', revision: NEW, percent, removeOld }];
  const started = Date.now();
  await h.send({ granularity: 'workload', units: [], gateways });
  await eventually(`the agent reports the ${percent}% step converged`, () =>
    gatewayProgress()?.some((g) => g.name === 'ingress' && g.percent === percent && g.state === 'converged'),
  );
  // command sent → converged step reported, over Kafka (the note reports it; nothing asserts it)
  console.log(`GATEWAY-STEP via agent ${percent}%${removeOld ? ' (remove old)' : ''}: ${Date.now() - started} ms`);
}

describe('the agent moves a gateway by canary from its desired state', () => {
  it('Given a gateway and a workload in a namespace, Then the inventory reports the gateway apart, never as a workload', async () => {
    await eventually('the inventory reports the gateway', () => reportedGateways()?.[0]?.name === 'ingress');
    expect(reportedGateways()).toMatchObject([{ name: 'ingress', kind: 'injected', revision: OLD, replicas: 4 }]);
    const whole = h.events
      .filter((e) => e.type === MessageType.Inventory)
      .map((e) => e.data as InventoryReport)
      .at(-1)!;
    expect(whole.workloads.filter((w) => w.namespace === ns).map((w) => w.name)).toEqual(['web']);
  });

  it('When the desired state names 10%, 50%, then 100% with removal, Then each step converges and is reported, the copy serves every pod and the old Deployment is gone', async () => {
    await sendStep(10);
    expect(await readyPodsBehind(h.admin, ns, 'ingress')).toEqual([NEW, OLD, OLD, OLD].sort());
    await eventually('the inventory shows the copy beside the gateway', () =>
      reportedGateways()?.some((g) => g.name === 'ingress' && g.canary?.revision === NEW),
    );
    await sendStep(50);
    await sendStep(100, true);
    expect(await readyPodsBehind(h.admin, ns, 'ingress')).toEqual([NEW, NEW, NEW, NEW]);
    await eventually('the old gateway Deployment is deleted', async () => {
      const list = await h.admin.apps.listNamespacedDeployment({ namespace: ns });
      return list.items.every((d) => d.metadata?.name !== 'ingress');
    });
    await eventually('the inventory reports the copy as the gateway, on the new revision', () =>
      reportedGateways()?.some((g) => g.name === `ingress-${NEW}` && g.revision === NEW && g.canary === undefined),
    );
  }, 300_000);
});
