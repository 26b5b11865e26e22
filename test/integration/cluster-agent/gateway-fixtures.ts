// Gateways as Istio's gateway charts deploy them, run by kwok: a Deployment injected with the `gateway` template
// (the injector double injects its revision as for any pod) behind a Service of its own labels.
import * as k8s from '@kubernetes/client-node';
import { injectedRevisionOf } from '@meshwave/istio';
import { OLD, eventually, newPodTemplate, type AdminClients } from './fixtures.ts';

/** A gateway `name` of `replicas` pods on the old revision, and its Service; resolves once every pod is ready. */
export async function newGateway(
  admin: AdminClients,
  namespace: string,
  name: string,
  replicas: number,
): Promise<void> {
  const labels = { app: name, istio: 'ingressgateway' };
  const template = newPodTemplate(name, { istio: 'ingressgateway', 'istio.io/rev': OLD });
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
