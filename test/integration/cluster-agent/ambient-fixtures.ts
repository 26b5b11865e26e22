// Ambient mode as Istio's charts deploy it, run by kwok over nodes of the test's own pool: an istio-cni and a
// ztunnel DaemonSet on `OnDelete` (labels, revision and image as the charts set them), kept to the pool by a node
// selector, so the shared fake nodes are never cordoned. An independent watch counts the pool's cordoned nodes.
import * as k8s from '@kubernetes/client-node';
import type { ClusterEnv } from '../../support/env.ts';
import { eventually, newPodTemplate, type AdminClients } from './fixtures.ts';

export const POOL_LABEL = 'meshwave.io/node-pool';

/** `count` kwok nodes `<pool>-<i>` in pool `pool`; resolves once each is Ready. */
export async function newPoolNodes(admin: AdminClients, pool: string, count: number): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `${pool}-${i}`);
  for (const name of names)
    await admin.core.createNode({
      body: {
        metadata: {
          name,
          annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          labels: { type: 'kwok', 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', [POOL_LABEL]: pool },
        },
        spec: {},
        status: {
          allocatable: { cpu: '32', memory: '256Gi', pods: '110' },
          capacity: { cpu: '32', memory: '256Gi', pods: '110' },
        },
      },
    });
  await eventually(`nodes of pool ${pool} Ready`, async () => {
    const nodes = await admin.core.listNode({ labelSelector: `${POOL_LABEL}=${pool}` });
    return (
      nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length ===
      count
    );
  });
  return names;
}

export async function deletePoolNodes(admin: AdminClients, names: readonly string[]): Promise<void> {
  for (const name of names) await admin.core.deleteNode({ name }).catch(() => undefined);
}

export type NodeAgentKind = 'ztunnel' | 'istio-cni';

const SHAPE = {
  ztunnel: { name: 'ztunnel', container: 'istio-proxy', image: 'ztunnel', labels: { app: 'ztunnel' } },
  'istio-cni': {
    name: 'istio-cni-node',
    container: 'install-cni',
    image: 'install-cni',
    labels: { 'k8s-app': 'istio-cni-node' },
  },
} as const;

/** The pod template of a node agent on `version` (the revision where Istio's chart puts it). */
function agentTemplate(kind: NodeAgentKind, pool: string, version: string, revision: string): k8s.V1PodTemplateSpec {
  const shape = SHAPE[kind];
  const base = newPodTemplate(shape.name, {
    ...shape.labels,
    'sidecar.istio.io/inject': 'false',
    'istio.io/dataplane-mode': 'none',
    'app.kubernetes.io/version': version,
    ...(kind === 'istio-cni' ? { 'istio.io/rev': revision } : {}),
  });
  return {
    metadata: {
      ...base.metadata,
      annotations: { 'sidecar.istio.io/inject': 'false', ...(kind === 'ztunnel' ? { 'istio.io/rev': revision } : {}) },
    },
    spec: {
      ...base.spec!,
      nodeSelector: { [POOL_LABEL]: pool },
      containers: [{ name: shape.container, image: `docker.io/istio/${shape.image}:${version}` }],
    },
  };
}

/** A node agent DaemonSet of a pool: where it runs, and on which version and revision. */
export interface NodeAgentSpec {
  readonly namespace: string;
  readonly kind: NodeAgentKind;
  readonly pool: string;
  readonly version: string;
  readonly revision: string;
}

const templateOf = (a: NodeAgentSpec): k8s.V1PodTemplateSpec => agentTemplate(a.kind, a.pool, a.version, a.revision);

/** A node agent DaemonSet on OnDelete over the pool; resolves once a ready pod runs on each of `nodes`. */
export async function newNodeAgent(admin: AdminClients, agent: NodeAgentSpec, nodes: number): Promise<void> {
  const shape = SHAPE[agent.kind];
  await admin.apps.createNamespacedDaemonSet({
    namespace: agent.namespace,
    body: {
      metadata: { name: shape.name, labels: { 'app.kubernetes.io/name': agent.kind } },
      spec: {
        selector: { matchLabels: { ...shape.labels } },
        updateStrategy: { type: 'OnDelete' },
        template: templateOf(agent),
      },
    },
  });
  await eventually(`${agent.kind}: ${nodes} pods ready on ${agent.version}`, async () => {
    const versions = await agentPodVersions(admin, agent.namespace, agent.kind);
    return versions.length === nodes && versions.every((v) => v.endsWith(`:${agent.version} ready`));
  });
}

/** What an operator's `helm upgrade` does to an OnDelete DaemonSet: the template moves, no pod does. */
export async function setNodeAgentTemplate(admin: AdminClients, agent: NodeAgentSpec): Promise<void> {
  // a merge patch of the template alone: the DaemonSet controller writes its status meanwhile
  const body = { spec: { template: templateOf(agent) } };
  await admin.apps.patchNamespacedDaemonSet(
    { namespace: agent.namespace, name: SHAPE[agent.kind].name, body },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
}

/** `<node> <image tag> ready|not-ready` of each live pod of the node agent, sorted. */
export async function agentPodVersions(admin: AdminClients, namespace: string, kind: NodeAgentKind): Promise<string[]> {
  const selector = Object.entries(SHAPE[kind].labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const pods = await admin.core.listNamespacedPod({ namespace, labelSelector: selector });
  return pods.items
    .filter((p) => p.metadata?.deletionTimestamp === undefined)
    .map((p) => {
      const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      const tag = p.spec!.containers[0]!.image!.split(':').at(-1);
      return `${p.spec?.nodeName ?? '?'} :${tag} ${ready ? 'ready' : 'not-ready'}`;
    })
    .sort();
}

/**
 * An independent watch on the pool's nodes: at every event it counts the nodes cordoned at that moment, and keeps
 * the largest count seen.
 */
export class CordonWatch {
  maxCordoned = 0;
  events = 0;
  private readonly cordoned = new Set<string>();
  private stop: (() => void) | undefined;

  async start(cluster: ClusterEnv, pool: string): Promise<void> {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    const req = await new k8s.Watch(kc).watch(
      '/api/v1/nodes',
      { labelSelector: `${POOL_LABEL}=${pool}` },
      (type: string, n: k8s.V1Node) => {
        const name = n.metadata!.name!;
        if (type !== 'DELETED' && n.spec?.unschedulable === true) this.cordoned.add(name);
        else this.cordoned.delete(name);
        this.events++;
        this.maxCordoned = Math.max(this.maxCordoned, this.cordoned.size);
      },
      () => undefined,
    );
    this.stop = () => req.abort();
  }

  close(): void {
    this.stop?.();
  }
}
