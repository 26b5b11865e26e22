// Gateways as Istio's gateway charts deploy them, run by kwok: a Deployment injected with the `gateway` template
// (the injector double injects its revision as for any pod) behind a Service of its own labels.
import * as k8s from '@kubernetes/client-node';
import { injectedRevisionOf } from '@meshwave/istio';
import { OLD, eventually, newPodTemplate, type AdminClients } from './fixtures.ts';

/**
 * A gateway Deployment as a chart or istiod makes it: selected by `labels`, its pods labelled with `podLabels` on
 * the old revision and injected with Istio's `gateway` template.
 */
async function newGatewayDeployment(
  admin: AdminClients,
  namespace: string,
  name: string,
  labels: Record<string, string>,
  podLabels: Record<string, string>,
  replicas: number,
): Promise<void> {
  const template = newPodTemplate(name, { ...podLabels, 'istio.io/rev': OLD });
  await admin.apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name, labels },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: {
          ...template,
          metadata: { ...template.metadata, annotations: { 'inject.istio.io/templates': 'gateway' } },
        },
      },
    },
  });
}

/** A gateway `name` of `replicas` pods on the old revision, and its Service; resolves once every pod is ready. */
export async function newGateway(
  admin: AdminClients,
  namespace: string,
  name: string,
  replicas: number,
): Promise<void> {
  const labels = { app: name, istio: 'ingressgateway' };
  await newGatewayDeployment(admin, namespace, name, labels, { istio: 'ingressgateway' }, replicas);
  // the Service the gateway and its copy share: it selects the gateway's labels, which the copy's pods carry too
  await admin.core.createNamespacedService({
    namespace,
    body: { metadata: { name }, spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] } },
  });
  await eventually(`gateway ${name}: ${replicas} pods ready on ${OLD}`, async () => {
    const pods = (await readyPodsBehind(admin, namespace, name)).filter((r) => r === OLD);
    return pods.length === replicas;
  });
}

/** The injected revision of each ready pod the Service of gateway `name` selects, whatever Deployment runs it. */
export async function readyPodsBehind(
  admin: AdminClients,
  namespace: string,
  name: string,
): Promise<(string | null)[]> {
  const service = await admin.core.readNamespacedService({ namespace, name });
  const selector = Object.entries(service.spec!.selector!)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return readyPodRevisions(admin, namespace, selector);
}

/** The label selector of a Gateway API gateway's pods (istiod labels them with the Gateway's name). */
export const gatewayApiSelector = (gateway: string): string => `gateway.networking.k8s.io/gateway-name=${gateway}`;

/** The injected revision of each ready, not terminating pod `selector` picks, sorted. */
export async function readyPodRevisions(
  admin: AdminClients,
  namespace: string,
  selector: string,
): Promise<(string | null)[]> {
  const pods = await admin.core.listNamespacedPod({ namespace, labelSelector: selector });
  return pods.items
    .filter(
      (p) =>
        p.metadata?.deletionTimestamp === undefined &&
        p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    )
    .map((p) => injectedRevisionOf(p.metadata?.annotations as Record<string, string> | undefined))
    .sort();
}

/**
 * Every `spec.replicas` the apiserver held for each Deployment of a namespace, in order (`deleted` at the end): an
 * independent watch, so a skipped gateway step would show.
 */
export class DeploymentHistory {
  readonly replicas = new Map<string, (number | 'deleted')[]>();
  private abort: (() => void) | undefined;

  constructor(
    private readonly kubeconfig: string,
    private readonly namespace: string,
  ) {}

  async start(): Promise<void> {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(this.kubeconfig);
    const req = await new k8s.Watch(kc).watch(
      `/apis/apps/v1/namespaces/${this.namespace}/deployments`,
      {},
      (type: string, d: k8s.V1Deployment) => {
        const name = d.metadata!.name!;
        const seen = this.replicas.get(name) ?? [];
        const value = type === 'DELETED' ? 'deleted' : (d.spec?.replicas ?? 1);
        if (seen.at(-1) !== value) seen.push(value);
        this.replicas.set(name, seen);
      },
      () => undefined,
    );
    this.abort = () => req.abort();
  }

  stop(): void {
    this.abort?.();
  }
}

const GATEWAY_API = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'gateways' } as const;

/**
 * The Gateway API `Gateway` kind on the apiserver, when absent: a CRD of that name keeping any field (the tests read
 * and write labels only). Cluster-wide and shared: created once, never deleted (another test may use it).
 */
export async function ensureGatewayCrd(kubeconfig: string): Promise<void> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const name = `${GATEWAY_API.plural}.${GATEWAY_API.group}`;
  const present = await ext.readCustomResourceDefinition({ name }).then(
    () => true,
    () => false,
  );
  if (!present)
    await ext
      .createCustomResourceDefinition({
        body: {
          // a `*.k8s.io` group: the apiserver wants the approval annotation the real Gateway API CRDs carry
          metadata: {
            name,
            annotations: { 'api-approved.kubernetes.io': 'https://github.com/kubernetes-sigs/gateway-api/pull/2466' },
          },
          spec: {
            group: GATEWAY_API.group,
            scope: 'Namespaced',
            names: { plural: GATEWAY_API.plural, singular: 'gateway', kind: 'Gateway', listKind: 'GatewayList' },
            versions: [
              {
                name: GATEWAY_API.version,
                served: true,
                storage: true,
                schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
              },
            ],
          },
        },
      })
      .catch((err: unknown) => {
        // another test created it meanwhile
        if ((err as { code?: number }).code !== 409) throw err;
      });
  const objects = kc.makeApiClient(k8s.CustomObjectsApi);
  await eventually('the Gateway kind served', () =>
    objects.listClusterCustomObject({ ...GATEWAY_API }).then(
      () => true,
      () => false,
    ),
  );
}

/**
 * A Gateway API gateway as istiod deploys it: the `Gateway` (labelled `istio.io/rev`) and the Deployment of
 * `replicas` pods istiod runs for it, on the old revision; resolves once every pod is ready. Returns the
 * Deployment's name.
 */
export async function newGatewayApiGateway(
  admin: AdminClients,
  kubeconfig: string,
  namespace: string,
  gateway: string,
  replicas: number,
  /** the Gateway's `istio.io/rev`: the old revision, or a revision tag pointing at it */
  label = OLD,
): Promise<string> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  await kc.makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({
    ...GATEWAY_API,
    namespace,
    body: {
      apiVersion: `${GATEWAY_API.group}/${GATEWAY_API.version}`,
      kind: 'Gateway',
      metadata: { name: gateway, labels: { 'istio.io/rev': label } },
      spec: { gatewayClassName: 'istio', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
    },
  });
  const name = `${gateway}-istio`;
  const labels = { 'gateway.networking.k8s.io/gateway-name': gateway };
  await newGatewayDeployment(admin, namespace, name, labels, labels, replicas);
  await eventually(`Gateway API gateway ${gateway}: ${replicas} pods ready on ${OLD}`, async () => {
    const pods = (await readyPodRevisions(admin, namespace, gatewayApiSelector(gateway))).filter((r) => r === OLD);
    return pods.length === replicas;
  });
  return name;
}

/** The revision a revision tag points at (its `istio-revision-tag-<tag>` webhook), else `label` itself. */
async function resolveTag(kc: k8s.KubeConfig, label: string): Promise<string> {
  const mwc = await kc
    .makeApiClient(k8s.AdmissionregistrationV1Api)
    .readMutatingWebhookConfiguration({ name: `istio-revision-tag-${label}` })
    .catch(() => undefined);
  return mwc?.metadata?.labels?.['istio.io/rev'] ?? label;
}

/**
 * What istiod does for a Gateway API gateway (istio/istio#59959): it renders the gateway's Deployment on the
 * revision the Gateway's `istio.io/rev` resolves to (a tag to the revision it points at), so a relabel to another
 * revision, or a move of the tag the Gateway is labelled with, restarts its pods (the injector double injects
 * them); a relabel from a tag to the revision it points at changes nothing. Polls; the returned function stops it.
 */
export function startIstiodGatewayDouble(
  admin: AdminClients,
  kubeconfig: string,
  namespace: string,
  gateway: string,
  deployment: string,
): () => void {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const objects = kc.makeApiClient(k8s.CustomObjectsApi);
  let stopped = false;
  const loop = async (): Promise<void> => {
    while (!stopped) {
      try {
        const g = (await objects.getNamespacedCustomObject({ ...GATEWAY_API, namespace, name: gateway })) as {
          metadata?: { labels?: Record<string, string> };
        };
        const label = g.metadata?.labels?.['istio.io/rev'];
        const wanted = label === undefined ? undefined : await resolveTag(kc, label);
        const d = await admin.apps.readNamespacedDeployment({ namespace, name: deployment });
        if (wanted !== undefined && d.spec?.template.metadata?.labels?.['istio.io/rev'] !== wanted)
          await admin.apps.patchNamespacedDeployment(
            {
              namespace,
              name: deployment,
              body: { spec: { template: { metadata: { labels: { 'istio.io/rev': wanted } } } } },
            },
            k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
          );
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
