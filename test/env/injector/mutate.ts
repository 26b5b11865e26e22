// The Istio sidecar-injector double's mutation, as a pure function: pod in, injected pod out. It follows what
// istiod 1.24–1.26 add to a pod with the `sidecar` template (the `gateway` template: gateway-template.ts) (istio-init, istio-proxy from <hub>/proxyv2:<version>, the
// sidecar.istio.io/status annotation carrying the revision, the canonical-service and tlsMode labels); the
// JSON patch sent to the apiserver is the diff of the two (see server.ts).

import { injectGateway, wantsGatewayTemplate } from './gateway-template.ts';

export const DEFAULT_HUB = 'docker.io/istio';

/** Annotation our kwok Stage (test/env/kwok/sidecar-crashloop.yaml) matches to crash-loop the sidecar. */
export const FAULT_ANNOTATION = 'meshwave.test/fault' as const;

export const STATUS_ANNOTATION = 'sidecar.istio.io/status' as const;

export interface ContainerLike {
  readonly name: string;
  readonly image: string;
  readonly [field: string]: unknown;
}
type Container = ContainerLike;

/** A pod of an AdmissionReview request: only what the injector reads is typed. */
export interface PodLike {
  readonly metadata?: {
    readonly name?: string;
    readonly generateName?: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
    readonly [field: string]: unknown;
  };
  readonly spec?: {
    readonly containers?: readonly ContainerLike[];
    readonly initContainers?: readonly ContainerLike[];
    readonly volumes?: readonly unknown[];
    readonly [field: string]: unknown;
  };
  readonly [field: string]: unknown;
}

/** The pod as the injector returns it (an already injected pod comes back unchanged). */
export interface InjectedPod extends PodLike {
  readonly metadata: NonNullable<PodLike['metadata']> & {
    readonly labels: Record<string, string>;
    readonly annotations: Record<string, string>;
  };
  readonly spec: NonNullable<PodLike['spec']> & {
    readonly containers: readonly ContainerLike[];
    readonly initContainers: readonly ContainerLike[];
    readonly volumes: readonly unknown[];
  };
}

export interface InjectParams {
  readonly revision: string;
  readonly version: string;
  readonly hub?: string;
  readonly fault?: string | null;
  /** the request's namespace (the pod's own may be unset); istiod's template reads it, this double does not */
  readonly namespace?: string;
}

const VOLUMES = [
  'workload-socket',
  'credential-socket',
  'workload-certs',
  'istio-envoy',
  'istio-data',
  'istio-podinfo',
  'istio-token',
  'istiod-ca-cert',
];

/** `1-25-2` → `1.25.2`; revisions that are not a version (e.g. `canary`) need an explicit version. */
export function versionOfRevision(revision: string): string {
  if (!/^\d+-\d+-\d+$/.test(revision)) throw new Error(`revision ${revision} does not name a version: pass one`);
  return revision.replaceAll('-', '.');
}

/** istio-init: the iptables redirect istiod adds as an init container. */
function istioInitContainer(image: string): Container {
  return {
    name: 'istio-init',
    image,
    args: [
      'istio-iptables',
      '-p',
      '15001',
      '-z',
      '15006',
      '-u',
      '1337',
      '-m',
      'REDIRECT',
      '-i',
      '*',
      '-x',
      '',
      '-b',
      '*',
      '-d',
      '15090,15021,15020',
      '--log_output_level=default:info',
    ],
    resources: { limits: { cpu: '2', memory: '1Gi' }, requests: { cpu: '10m', memory: '40Mi' } },
    securityContext: {
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: false,
      runAsGroup: 0,
      runAsNonRoot: false,
      runAsUser: 0,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
    },
  };
}

/** istio-proxy: the sidecar itself, with the environment, probe and mounts istiod gives it. */
function istioProxyContainer(
  image: string,
  { revision, workload, appContainers }: { revision: string; workload: string; appContainers: readonly Container[] },
): Container {
  return {
    name: 'istio-proxy',
    image,
    args: [
      'proxy',
      'sidecar',
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
      { name: 'ISTIO_META_WORKLOAD_NAME', value: workload },
      { name: 'ISTIO_META_MESH_ID', value: 'cluster.local' },
      { name: 'ISTIO_META_CLUSTER_ID', value: 'Kubernetes' },
      { name: 'ISTIO_META_APP_CONTAINERS', value: appContainers.map((c) => c.name).join(',') },
    ],
    ports: [{ containerPort: 15090, name: 'http-envoy-prom', protocol: 'TCP' }],
    readinessProbe: {
      httpGet: { path: '/healthz/ready', port: 15021 },
      failureThreshold: 4,
      periodSeconds: 15,
      timeoutSeconds: 3,
    },
    resources: { limits: { cpu: '2', memory: '1Gi' }, requests: { cpu: '100m', memory: '128Mi' } },
    securityContext: {
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsGroup: 1337,
      runAsNonRoot: true,
      runAsUser: 1337,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: [
      { mountPath: '/var/run/secrets/workload-spiffe-uds', name: 'workload-socket' },
      { mountPath: '/var/run/secrets/credential-uds', name: 'credential-socket' },
      { mountPath: '/var/run/secrets/workload-spiffe-credentials', name: 'workload-certs' },
      { mountPath: '/var/run/secrets/istio', name: 'istiod-ca-cert' },
      { mountPath: '/var/lib/istio/data', name: 'istio-data' },
      { mountPath: '/etc/istio/proxy', name: 'istio-envoy' },
      { mountPath: '/var/run/secrets/tokens', name: 'istio-token' },
      { mountPath: '/etc/istio/pod', name: 'istio-podinfo' },
    ],
  };
}

/** The volumes the sidecar mounts. */
function sidecarVolumes(): Record<string, unknown>[] {
  return [
    { name: 'workload-socket', emptyDir: {} },
    { name: 'credential-socket', emptyDir: {} },
    { name: 'workload-certs', emptyDir: {} },
    { name: 'istio-envoy', emptyDir: { medium: 'Memory' } },
    { name: 'istio-data', emptyDir: {} },
    {
      name: 'istio-podinfo',
      downwardAPI: {
        items: [
          { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
          { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
        ],
      },
    },
    {
      name: 'istio-token',
      projected: {
        sources: [{ serviceAccountToken: { audience: 'istio-ca', expirationSeconds: 43200, path: 'istio-token' } }],
      },
    },
    { name: 'istiod-ca-cert', configMap: { name: 'istio-ca-root-cert' } },
  ];
}

/** The injected pod (a new object), or the same pod when it already carries a sidecar. */
export function injectSidecar(
  pod: PodLike,
  { revision, version, hub = DEFAULT_HUB, fault = null }: InjectParams,
): InjectedPod {
  const annotations = pod.metadata?.annotations ?? {};
  // already injected: istiod leaves it alone (and an injected pod has every field the sidecar added)
  if (annotations[STATUS_ANNOTATION]) return pod as InjectedPod;
  const image = `${hub}/proxyv2:${version}`;
  const labels = pod.metadata?.labels ?? {};
  const workload =
    labels['service.istio.io/canonical-name'] ??
    labels['app.kubernetes.io/name'] ??
    labels.app ??
    (pod.metadata?.generateName
      ? pod.metadata.generateName.replace(/-[a-z0-9]+-$/, '').replace(/-$/, '')
      : pod.metadata?.name) ??
    'unknown';
  const canonicalRevision =
    labels['service.istio.io/canonical-revision'] ?? labels['app.kubernetes.io/version'] ?? labels.version ?? 'latest';
  const appContainers = pod.spec?.containers ?? [];
  // Istio's gateway template: the proxy is the pod's main container, with no istio-init
  if (wantsGatewayTemplate(pod))
    return injectGateway(
      pod,
      { revision, version, hub },
      {
        workload,
        volumes: sidecarVolumes(),
        volumeNames: VOLUMES,
        statusAnnotation: STATUS_ANNOTATION,
        extraAnnotations: fault ? { [FAULT_ANNOTATION]: fault } : {},
      },
    );

  const status = {
    initContainers: ['istio-init'],
    containers: ['istio-proxy'],
    volumes: VOLUMES,
    imagePullSecrets: null,
    revision,
  };
  return {
    ...pod,
    metadata: {
      ...pod.metadata,
      labels: {
        ...labels,
        'security.istio.io/tlsMode': 'istio',
        'service.istio.io/canonical-name': workload,
        'service.istio.io/canonical-revision': canonicalRevision,
      },
      annotations: {
        ...annotations,
        'istio.io/rev': revision,
        'kubectl.kubernetes.io/default-container':
          annotations['kubectl.kubernetes.io/default-container'] ?? appContainers[0]?.name ?? 'istio-proxy',
        'kubectl.kubernetes.io/default-logs-container':
          annotations['kubectl.kubernetes.io/default-logs-container'] ?? appContainers[0]?.name ?? 'istio-proxy',
        'prometheus.io/path': '/stats/prometheus',
        'prometheus.io/port': '15020',
        'prometheus.io/scrape': 'true',
        [STATUS_ANNOTATION]: JSON.stringify(status),
        ...(fault ? { [FAULT_ANNOTATION]: fault } : {}),
      },
    },
    spec: {
      ...pod.spec,
      initContainers: [...(pod.spec?.initContainers ?? []), istioInitContainer(image)],
      containers: [...appContainers, istioProxyContainer(image, { revision, workload, appContainers })],
      volumes: [...(pod.spec?.volumes ?? []), ...sidecarVolumes()],
    },
  };
}

function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * RFC 6902 patch turning `before` into `after`, at the granularity the injector changes: whole top-level
 * maps and lists of metadata and spec (an `add` of an existing member replaces it).
 */
export interface PatchOp {
  readonly op: 'add';
  readonly path: string;
  readonly value: unknown;
}

export function diffPatch(before: PodLike, after: PodLike): PatchOp[] {
  const ops: PatchOp[] = [];
  for (const section of ['metadata', 'spec'] as const) {
    const a: Readonly<Record<string, unknown>> = before[section] ?? {};
    const b: Readonly<Record<string, unknown>> = after[section] ?? {};
    for (const key of Object.keys(b)) {
      if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) {
        ops.push({ op: 'add', path: `/${section}/${escapePointer(key)}`, value: b[key] });
      }
    }
  }
  return ops;
}
