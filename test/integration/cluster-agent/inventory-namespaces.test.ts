// The agent's inventory on a real kube-apiserver: the namespaces it reports carry their labels, so the planner
// learns each namespace's mesh (`meshwave.io/mesh`), and a relabel reaches the planner in a later report.
import { afterEach, describe, expect, it } from 'vitest';
import { MESH_LABEL, MessageType, type InventoryReport } from '@meshwave/contracts';
import { loadTestEnv } from '../../support/env.ts';
import { newAgentHarness, type AgentHarness } from './agent-harness.ts';
import { OLD, eventually, newNamespace, newWorkload, uniqueName, type AdminClients } from './fixtures.ts';

const env = loadTestEnv({ needClusters: 1 });
const cluster = env.clusters[0]!;

const harnesses: AgentHarness[] = [];
const namespaces: { admin: AdminClients; name: string }[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
  await Promise.all(
    namespaces.splice(0).map(({ admin, name }) => admin.core.deleteNamespace({ name }).catch(() => undefined)),
  );
});

/** A namespace of this test only, with one Deployment, cleaned up after the test. */
async function givenNamespace(h: AgentHarness, prefix: string, labels: Record<string, string>): Promise<string> {
  const ns = uniqueName(prefix);
  await newNamespace(h.admin, ns, labels);
  namespaces.push({ admin: h.admin, name: ns });
  await newWorkload(h.admin, { namespace: ns, kind: 'Deployment', name: 'app', replicas: 1 });
  return ns;
}

/** The reports that list the namespaces: whole inventories, and deltas sent because a namespace changed (ADR 0031). */
type NamespacesReport = Pick<InventoryReport, 'cluster' | 'generation' | 'namespaces'>;
const inventories = (h: AgentHarness): NamespacesReport[] =>
  h.events
    .filter((e) => e.type === MessageType.Inventory || e.type === MessageType.InventoryDelta)
    .map((e) => e.data as NamespacesReport)
    .filter((r) => r.namespaces !== undefined);
const labelsIn = (r: NamespacesReport | undefined, ns: string): Record<string, string> | undefined =>
  r?.namespaces?.find((n) => n.name === ns)?.labels;

describe('cluster agent inventory on a real apiserver', () => {
  it('Given namespaces labelled meshwave.io/mesh, When the agent runs, Then its inventory lists them with their mesh labels (and not the protected namespaces), and a relabel is reported', async () => {
    const h = await newAgentHarness(env, cluster);
    harnesses.push(h);
    const a = await givenNamespace(h, 'mesh-a-ns', { [MESH_LABEL]: 'mesh-a', 'istio.io/rev': OLD });
    const b = await givenNamespace(h, 'mesh-b-ns', { [MESH_LABEL]: 'mesh-b', team: 'shop' });
    await h.startAgent();

    await eventually('an inventory listing both namespaces', async () => {
      const last = inventories(h).at(-1);
      return labelsIn(last, a) !== undefined && labelsIn(last, b) !== undefined;
    });
    const first = inventories(h).at(-1)!;
    expect(labelsIn(first, a)).toMatchObject({ [MESH_LABEL]: 'mesh-a', 'istio.io/rev': OLD });
    expect(labelsIn(first, b)).toMatchObject({ [MESH_LABEL]: 'mesh-b', team: 'shop' });
    const names = first.namespaces!.map((n) => n.name);
    expect(names).not.toContain('kube-system');
    expect(names).not.toContain('istio-system');
    expect(first.cluster).toBe(cluster.name);

    await h.admin.core.patchNamespace({
      name: b,
      body: [{ op: 'replace', path: `/metadata/labels/${MESH_LABEL.replace('/', '~1')}`, value: 'mesh-c' }],
    });
    await eventually('an inventory with the namespace in mesh-c', async () => {
      return labelsIn(inventories(h).at(-1), b)?.[MESH_LABEL] === 'mesh-c';
    });
    const last = inventories(h).at(-1)!;
    expect(last.generation).toBeGreaterThan(first.generation);
    expect(labelsIn(last, a)?.[MESH_LABEL]).toBe('mesh-a');
  });
});
