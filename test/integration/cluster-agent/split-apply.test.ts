// `meshwave split --apply` end to end on a real kube-apiserver (issue 21, ADR 0049): the CLI splits a graph and sends
// it to a planner, which sends the cluster's agent a mesh-split command over Kafka; the agent, under the chart's RBAC
// with `meshSplit=true`, labels the namespaces and sets the mesh revision's discoverySelectors, then reports the mesh
// that revision's control plane serves (ADR 0056). The apiserver, read with an admin client, decides.
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli } from '@meshwave/cli';
import { MESH_LABEL, MessageType } from '@meshwave/contracts';
import { loadTestEnv } from '../../support/env.ts';
import { newAgentHarness } from './agent-harness.ts';
import { PLANNER_TOKEN, newHarnessPlanner } from './harness-planner.ts';
import { OLD, eventually, newIstiod, newNamespace, newWorkload, uniqueName } from './fixtures.ts';

const env = loadTestEnv({ needClusters: 1 });
const cluster = env.clusters[0]!;
const TOKEN = PLANNER_TOKEN;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** Runs `meshwave` with `args`; its exit code and output. */
async function meshwave(args: readonly string[], files: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, {
    readFile: (p) => (p in files ? Promise.resolve(files[p]!) : Promise.reject(new Error(`ENOENT ${p}`))),
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    env: {},
  });
  return { code, out: out.join(''), err: err.join('') };
}

describe('meshwave split --apply on a real apiserver', () => {
  it("Given two namespaces and mesh-a's revision installed, When the split is applied dry and then with --yes, Then the dry run writes nothing and the apply labels each namespace with its mesh and gives mesh-a's revision its discoverySelectors", async () => {
    const h = await newAgentHarness(env, cluster, { chartValues: ['meshSplit=true'] });
    cleanups.push(() => h.close());
    const [shop, ads] = [uniqueName('shop'), uniqueName('ads')];
    for (const ns of [shop, ads]) {
      await newNamespace(h.admin, ns, { 'istio.io/rev': OLD });
      cleanups.push(() => h.admin.core.deleteNamespace({ name: ns }));
      await newWorkload(h.admin, { namespace: ns, kind: 'Deployment', name: 'app', replicas: 1 });
    }
    // mesh names of this test only: the revisions' ConfigMaps live in the shared istio-system
    const prefix = `m${uniqueName('x').slice(2)}`;
    const revisionA = `${prefix}-a-1-25-2`;
    // mesh-a's istiod, so the agent reports its control plane (and, once the selectors are written, its mesh)
    await newIstiod(h.admin, revisionA, '1.25.2');
    cleanups.push(() =>
      h.admin.apps.deleteNamespacedDeployment({ namespace: 'istio-system', name: `istiod-${revisionA}` }),
    );
    await h.admin.core.createNamespacedConfigMap({
      namespace: 'istio-system',
      body: { metadata: { name: `istio-${revisionA}` }, data: { mesh: 'accessLogFile: /dev/stdout\n' } },
    });
    cleanups.push(() =>
      h.admin.core.deleteNamespacedConfigMap({ namespace: 'istio-system', name: `istio-${revisionA}` }),
    );
    await h.startAgent();
    const p = await newHarnessPlanner(env, h);
    cleanups.push(() => p.close());
    const url = p.url;
    const inventory = {
      clusters: [
        {
          name: cluster.name,
          labels: {},
          workloads: [shop, ads].map((namespace) => ({ namespace, kind: 'Deployment', name: 'app', revision: OLD })),
        },
      ],
      vmGroups: [],
    };
    expect((await p.api('PUT', '/v1/inventory', inventory)).status).toBe(204);
    const graph = JSON.stringify({
      nodes: [
        { id: `${shop}/app`, weight: 1, namespace: shop },
        { id: `${ads}/app`, weight: 1, namespace: ads },
      ],
      edges: [],
    });
    const split = ['split', '-f', 'g.json', '--k', '2', '--revision', '1-25-2', '--mesh-prefix', prefix, '--apply'];
    const client = ['--planner', url, '--token', TOKEN, '--output', 'json'];

    const dry = await meshwave([...split, ...client], { 'g.json': graph });
    expect(dry.code).toBe(0);
    expect(dry.err).toContain('dry run');
    const planned = JSON.parse(dry.out) as {
      dryRun: boolean;
      clusters: { namespaces: { namespace: string; to: string }[] }[];
    };
    expect(planned.dryRun).toBe(true);
    const meshOf = new Map(planned.clusters[0]!.namespaces.map((n) => [n.namespace, n.to]));
    expect([...meshOf.keys()].sort()).toEqual([shop, ads].sort());
    expect(new Set(meshOf.values()).size).toBe(2);

    const applied = await meshwave([...split, '--yes', '--reason', 'split test', ...client], { 'g.json': graph });
    expect(applied.code).toBe(0);

    for (const ns of [shop, ads])
      await eventually(`${ns} labelled ${meshOf.get(ns)}`, async () => {
        const n = await h.admin.core.readNamespace({ name: ns });
        return n.metadata?.labels?.[MESH_LABEL] === meshOf.get(ns);
      });
    await eventually(`discoverySelectors of ${revisionA}`, async () => {
      const cm = await h.admin.core.readNamespacedConfigMap({ namespace: 'istio-system', name: `istio-${revisionA}` });
      return (parse(cm.data?.['mesh'] ?? '') as { discoverySelectors?: unknown }).discoverySelectors !== undefined;
    });
    const cm = await h.admin.core.readNamespacedConfigMap({ namespace: 'istio-system', name: `istio-${revisionA}` });
    expect(parse(cm.data!['mesh']!)).toEqual({
      accessLogFile: '/dev/stdout',
      discoverySelectors: [
        { matchLabels: { [MESH_LABEL]: `${prefix}-a` } },
        { matchLabels: { 'kubernetes.io/metadata.name': 'istio-system' } },
      ],
    });
    // the agent reads the selectors back: its inventory says which mesh the revision's control plane serves (ADR 0056)
    await eventually(`the inventory reports ${revisionA} serving ${prefix}-a`, () =>
      h.events.some(
        (m) =>
          (m.type === MessageType.Inventory || m.type === MessageType.InventoryDelta) &&
          (m.data as { controlPlanes?: { revision: string; mesh?: string }[] }).controlPlanes?.some(
            (c) => c.revision === revisionA && c.mesh === `${prefix}-a`,
          ),
      ),
    );
    // the workloads keep their revision: moving a mesh is a rollout of that mesh
    const shopNs = await h.admin.core.readNamespace({ name: shop });
    expect(shopNs.metadata?.labels?.['istio.io/rev']).toBe(OLD);
    // mesh-b's revision is not installed: nothing was created for it
    const b = await h.admin.core
      .readNamespacedConfigMap({ namespace: 'istio-system', name: `istio-${prefix}-b-1-25-2` })
      .catch((e: unknown) => e);
    expect(b).toMatchObject({ code: 404 });
    expect(h.rejections()).toEqual([]);
  });
});
