// Istio's `gateway` injection template, as the injector double applies it (istiod's
// manifests/charts/istio-control/istio-discovery/files/gateway-injection-template.yaml, 1.24–1.26): a pod annotated
// `inject.istio.io/templates: gateway` (Istio's gateway charts and istiod's Gateway API deployments) gets the proxy
// as its main container `istio-proxy`, running `proxy router`, merged by name into the pod's own `istio-proxy`
// container (the charts ship it with `image: auto`); no istio-init (a gateway intercepts nothing); the pod's
// `istio.io/rev` label kept, else the revision's; the sidecar volumes; the status annotation naming no init container.
import type { ContainerLike, InjectedPod, InjectParams, PodLike } from './mutate.ts';

export const TEMPLATES_ANNOTATION = 'inject.istio.io/templates' as const;

/** True when the pod asks for Istio's `gateway` template (the annotation lists templates, comma separated). */
export function wantsGatewayTemplate(pod: PodLike): boolean {
  const templates = pod.metadata?.annotations?.[TEMPLATES_ANNOTATION];
  return templates !== undefined && templates.split(',').some((t) => t.trim() === 'gateway');
}

/** The gateway template's `istio-proxy`: what it sets, laid over the pod's own container of that name. */
function gatewayProxy(
  image: string,
  { revision, workload, appContainers }: { revision: string; workload: string; appContainers: readonly string[] },
): ContainerLike {
  return {
    name: 'istio-proxy',
    image,
    ports: [{ containerPort: 15090, protocol: 'TCP', name: 'http-envoy-prom' }],
    args: [
      'proxy',
      'router',
      '--domain',
      '$(POD_NAMESPACE).svc.cluster.local',
      '--proxyLogLevel=warning',
      '--proxyComponentLogLevel=misc:error',
      '--log_output_level=default:info',
    ],
    env: [
      { name: 'PILOT_CERT_PROVIDER', value: 'istiod' },
      { name: 'CA_ADDR', value: `istiod-${revision}.istio-system.svc:15012` },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'INSTANCE_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'SERVICE_ACCOUNT', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
      { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
      { name: 'ISTIO_META_APP_CONTAINERS', value: appContainers.join(',') },
      { name: 'ISTIO_META_CLUSTER_ID', value: 'Kubernetes' },
      { name: 'ISTIO_META_WORKLOAD_NAME', value: workload },
      { name: 'ISTIO_META_MESH_ID', value: 'cluster.local' },
    ],
    readinessProbe: {
      httpGet: { path: '/healthz/ready', port: 15021 },
      initialDelaySeconds: 0,
      periodSeconds: 15,
      timeoutSeconds: 3,
      failureThreshold: 4,
    },
    volumeMounts: [
      { name: 'workload-socket', mountPath: '/var/run/secrets/workload-spiffe-uds' },
      { name: 'credential-socket', mountPath: '/var/run/secrets/credential-uds' },
      { name: 'workload-certs', mountPath: '/var/run/secrets/workload-spiffe-credentials' },
      { mountPath: '/var/run/secrets/istio', name: 'istiod-ca-cert' },
      { mountPath: '/var/lib/istio/data', name: 'istio-data' },
      { mountPath: '/etc/istio/proxy', name: 'istio-envoy' },
      { mountPath: '/var/run/secrets/tokens', name: 'istio-token' },
      { name: 'istio-podinfo', mountPath: '/etc/istio/pod' },
    ],
  };
}

/** The pod with the gateway template applied (a new object). */
export function injectGateway(
  pod: PodLike,
  { revision, version, hub }: Required<Pick<InjectParams, 'revision' | 'version' | 'hub'>>,
  {
    workload,
    volumes,
    volumeNames,
    statusAnnotation,
    extraAnnotations,
  }: {
    workload: string;
    volumes: readonly unknown[];
    volumeNames: readonly string[];
    statusAnnotation: string;
    /** the double's own (a fault for kwok), as the sidecar template adds them */
    extraAnnotations: Readonly<Record<string, string>>;
  },
): InjectedPod {
  const labels = pod.metadata?.labels ?? {};
  const annotations = pod.metadata?.annotations ?? {};
  const containers = pod.spec?.containers ?? [];
  const apps = containers.filter((c) => c.name !== 'istio-proxy').map((c) => c.name);
  const proxy = gatewayProxy(`${hub}/proxyv2:${version}`, { revision, workload, appContainers: apps });
  const own = containers.find((c) => c.name === 'istio-proxy');
  // merged by name as istiod's strategic merge does: the template's fields over the pod's own container
  const merged =
    own === undefined ? [...containers, proxy] : containers.map((c) => (c === own ? { ...own, ...proxy } : c));
  const status = {
    initContainers: null,
    containers: ['istio-proxy'],
    volumes: volumeNames,
    imagePullSecrets: null,
    revision,
  };
  return {
    ...pod,
    metadata: {
      ...pod.metadata,
      labels: {
        ...labels,
        'service.istio.io/canonical-name': labels['service.istio.io/canonical-name'] ?? workload,
        'service.istio.io/canonical-revision':
          labels['service.istio.io/canonical-revision'] ??
          labels['app.kubernetes.io/version'] ??
          labels.version ??
          'latest',
        'istio.io/rev': labels['istio.io/rev'] ?? revision,
      },
      annotations: {
        ...annotations,
        ...(apps.length === 1
          ? {
              'kubectl.kubernetes.io/default-logs-container': apps[0]!,
              'kubectl.kubernetes.io/default-container': apps[0]!,
            }
          : {}),
        'prometheus.io/path': '/stats/prometheus',
        'prometheus.io/port': '15020',
        'prometheus.io/scrape': 'true',
        [statusAnnotation]: JSON.stringify(status),
        ...extraAnnotations,
      },
    },
    spec: {
      ...pod.spec,
      initContainers: [...(pod.spec?.initContainers ?? [])],
      containers: merged,
      volumes: [...(pod.spec?.volumes ?? []), ...volumes],
    },
  };
}
