// Waypoints as istiod deploys them (ADR 0051, 0056): a Gateway API `Gateway` of class `istio-waypoint`, labelled
// `istio.io/waypoint-for` and `istio.io/rev`, and the Deployment istiod's waypoint template renders for it: pods
// labelled `gateway.networking.k8s.io/gateway-name` and with the Gateway's own labels, never injected
// (`sidecar.istio.io/inject: "false"`), whose `istio.io/rev` annotation is the revision of the istiod that renders
// them (the tag resolved, never its name) and whose container `istio-proxy` runs proxyv2 in waypoint mode, as
// istio/istio's waypoint template and deployment controller do (ADR 0056, checked at 86c9f01f). The test plays
// istiod's part: when a waypoint's revision changes it re-renders the Deployment.
import * as k8s from '@kubernetes/client-node';
import { versionOfRevision } from '../../env/injector/mutate.ts';
import { newPodTemplate, type AdminClients } from './fixtures.ts';

const GATEWAY_API = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'gateways' } as const;

/** A waypoint `Gateway` for the namespace's services, on `revision`. */
export async function newWaypoint(
  kubeconfig: string,
  namespace: string,
  name: string,
  revision: string,
): Promise<void> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  await kc.makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({
    ...GATEWAY_API,
    namespace,
    body: {
      apiVersion: `${GATEWAY_API.group}/${GATEWAY_API.version}`,
      kind: 'Gateway',
      metadata: { name, labels: { 'istio.io/waypoint-for': 'service', 'istio.io/rev': revision } },
      spec: {
        gatewayClassName: 'istio-waypoint',
        listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }],
      },
    },
  });
}

/** A waypoint `Gateway` as the double reads it: its name and labels. */
interface WaypointGateway {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** The labels istiod's waypoint template puts on the Deployment it renders (istio/istio 86c9f01f, ADR 0056). */
const deploymentLabels = (g: WaypointGateway): Record<string, string> => ({
  ...g.labels,
  'gateway.networking.k8s.io/gateway-name': g.name,
  'gateway.networking.k8s.io/gateway-class-name': 'istio-waypoint',
  'gateway.istio.io/managed': 'istio.io-mesh-controller',
});

/**
 * The pod template istiod's waypoint template renders for Gateway `g` when the istiod of `revision` (a revision,
 * never a tag: the one whose tags include the Gateway's `istio.io/rev`) owns it: the Gateway's labels copied onto
 * the pod (the Gateway has no `spec.infrastructure`), and istiod's own revision as the pod's `istio.io/rev`
 * annotation.
 */
function waypointTemplate(g: WaypointGateway, revision: string): k8s.V1PodTemplateSpec {
  const base = newPodTemplate(g.name, {
    'sidecar.istio.io/inject': 'false',
    'istio.io/dataplane-mode': 'none',
    'service.istio.io/canonical-name': g.name,
    'service.istio.io/canonical-revision': 'latest',
    ...deploymentLabels(g),
  });
  const { app: _app, ...labels } = base.metadata!.labels!;
  return {
    metadata: {
      labels,
      annotations: {
        'istio.io/rev': revision,
        'prometheus.io/path': '/stats/prometheus',
        'prometheus.io/port': '15020',
        'prometheus.io/scrape': 'true',
      },
    },
    spec: {
      ...base.spec!,
      containers: [
        {
          name: 'istio-proxy',
          image: `docker.io/istio/proxyv2:${versionOfRevision(revision)}`,
          args: ['proxy', 'waypoint', '--domain', '$(POD_NAMESPACE).svc.cluster.local'],
        },
      ],
    },
  };
}

/** The waypoint Gateways of `namespace`. */
async function waypointGateways(objects: k8s.CustomObjectsApi, namespace: string): Promise<WaypointGateway[]> {
  const list = (await objects.listNamespacedCustomObject({
    ...GATEWAY_API,
    namespace,
    labelSelector: 'istio.io/waypoint-for',
  })) as { items: { metadata: { name: string; labels?: Record<string, string> } }[] };
  return list.items.map((g) => ({ name: g.metadata.name, labels: g.metadata.labels ?? {} }));
}

/**
 * istiod's waypoint controller for one namespace: for each waypoint, a Deployment of `replicas` pods rendered by
 * the istiod its `istio.io/rev` selects (`tags`: tag → revision, as the cluster's tag webhooks say; a revision
 * selects itself), re-rendered when that changes. Polls; the returned function stops it.
 */
export function startIstiodWaypointDouble(
  admin: AdminClients,
  kubeconfig: string,
  namespace: string,
  replicas: number,
  tags: Readonly<Record<string, string>> = {},
): () => void {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const objects = kc.makeApiClient(k8s.CustomObjectsApi);
  let stopped = false;
  const render = async (g: WaypointGateway): Promise<void> => {
    const selected = g.labels['istio.io/rev'] ?? 'default';
    const revision = tags[selected] ?? selected;
    const template = waypointTemplate(g, revision);
    const found = await admin.apps.readNamespacedDeployment({ namespace, name: g.name }).catch(() => undefined);
    if (found === undefined) {
      const selector = { matchLabels: { 'gateway.networking.k8s.io/gateway-name': g.name } };
      await admin.apps.createNamespacedDeployment({
        namespace,
        body: { metadata: { name: g.name, labels: deploymentLabels(g) }, spec: { replicas, selector, template } },
      });
    } else if (
      found.spec?.template.metadata?.annotations?.['istio.io/rev'] !== revision ||
      found.spec?.template.metadata?.labels?.['istio.io/rev'] !== g.labels['istio.io/rev']
    )
      await admin.apps.patchNamespacedDeployment(
        { namespace, name: g.name, body: { metadata: { labels: deploymentLabels(g) }, spec: { template } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
  };
  const loop = async (): Promise<void> => {
    while (!stopped) {
      try {
        for (const g of await waypointGateways(objects, namespace)) await render(g);
      } catch {
        // the namespace going away at the end, or a conflict: look again
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  void loop();
  return () => {
    stopped = true;
  };
}

/** The `istio.io/rev` of each ready, not terminating pod of waypoint `gateway`, sorted. */
export async function readyWaypointRevisions(
  admin: AdminClients,
  namespace: string,
  gateway: string,
): Promise<string[]> {
  const pods = await admin.core.listNamespacedPod({
    namespace,
    labelSelector: `gateway.networking.k8s.io/gateway-name=${gateway}`,
  });
  return pods.items
    .filter(
      (p) =>
        p.metadata?.deletionTimestamp === undefined &&
        p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    )
    .map((p) => p.metadata?.annotations?.['istio.io/rev'] ?? '')
    .sort();
}

/**
 * An independent watch of a namespace's waypoint pods: for each waypoint, the sequence number of the first event at
 * which a pod on `revision` existed, and of the first at which every live pod was ready on it.
 */
export class WaypointPodWatch {
  private readonly pods = new Map<string, { gateway: string; revision: string; ready: boolean }>();
  readonly firstOn = new Map<string, number>();
  readonly allReadyOn = new Map<string, number>();
  private seq = 0;
  private stop: (() => void) | undefined;

  constructor(private readonly revision: string) {}

  async start(kubeconfig: string, namespace: string): Promise<void> {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    const req = await new k8s.Watch(kc).watch(
      `/api/v1/namespaces/${namespace}/pods`,
      { labelSelector: 'gateway.networking.k8s.io/gateway-name' },
      (type: string, p: k8s.V1Pod) => this.observe(type, p),
      () => undefined,
    );
    this.stop = () => req.abort();
  }

  private observe(type: string, p: k8s.V1Pod): void {
    const gateway = p.metadata!.labels!['gateway.networking.k8s.io/gateway-name']!;
    if (type === 'DELETED' || p.metadata?.deletionTimestamp !== undefined) this.pods.delete(p.metadata!.name!);
    else
      this.pods.set(p.metadata!.name!, {
        gateway,
        revision: p.metadata?.annotations?.['istio.io/rev'] ?? '',
        ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true,
      });
    const seq = ++this.seq;
    const mine = [...this.pods.values()].filter((x) => x.gateway === gateway);
    if (mine.some((x) => x.revision === this.revision) && !this.firstOn.has(gateway)) this.firstOn.set(gateway, seq);
    if (mine.length > 0 && mine.every((x) => x.revision === this.revision && x.ready) && !this.allReadyOn.has(gateway))
      this.allReadyOn.set(gateway, seq);
  }

  close(): void {
    this.stop?.();
  }
}
