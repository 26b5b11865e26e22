import type { AssignmentSource } from '../ports/assignment-source.js';
import { diffJsonPatch, type JsonPatchOperation } from '../core/json-patch.js';
import type { PodAdmission } from '../adapters/simulated-types.js';
import type { Labels } from '../ports/kubernetes-port.js';
import { IstioLabel, MeshwaveAnnotation, PROTECTED_NAMESPACES, optsOutOfInjection } from '@meshwave/istio';

/**
 * The admission half of keeping pods on their assigned revision. `mutate` is pure: object in, object out; the
 * JSON patch sent to the apiserver is the diff of the two, so what the webhook does is exactly what `mutate`
 * returns and is tested without a server.
 */

/** The subset of a Kubernetes object the webhook reads and writes. */
export interface AdmittedObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: {
    readonly name?: string;
    readonly generateName?: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly ownerReferences?: readonly {
      readonly kind: string;
      readonly name: string;
      readonly controller?: boolean;
    }[];
  };
  readonly spec?: {
    readonly template?: {
      readonly metadata?: {
        readonly labels?: Readonly<Record<string, string>>;
        readonly annotations?: Readonly<Record<string, string>>;
      };
      readonly [key: string]: unknown;
    };
    readonly [key: string]: unknown;
  };
  readonly [key: string]: unknown;
}

export interface AdmissionTarget {
  /** `Pod`, `Deployment`, `StatefulSet` or `DaemonSet` */
  readonly kind: string;
  /** the request's namespace (objects being created may not carry it yet) */
  readonly namespace: string;
  readonly object: AdmittedObject;
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

/** The workload a pod comes from, read from its controller reference (a Deployment's pods are owned by a ReplicaSet). */
export function podOwner(pod: AdmittedObject): { kind: string; name: string } | undefined {
  const ref = pod.metadata?.ownerReferences?.find((r) => r.controller !== false);
  if (!ref) return undefined;
  if (ref.kind === 'ReplicaSet') {
    const hash = pod.metadata?.labels?.['pod-template-hash'];
    const name =
      hash && ref.name.endsWith(`-${hash}`)
        ? ref.name.slice(0, -(hash.length + 1))
        : ref.name.replace(/-[a-z0-9]{5,10}$/, '');
    return { kind: 'Deployment', name };
  }
  return WORKLOAD_KINDS.has(ref.kind) ? { kind: ref.kind, name: ref.name } : undefined;
}

/**
 * In a namespace whose label was handed over to its workloads (ADR 0011), what an object naming no revision and
 * not opting out of injection takes: the revision the namespace label injected. Without it a new Deployment, or a
 * Job's pod, would get no sidecar there.
 */
function handoffDefault(
  metadata: { readonly labels?: Labels; readonly annotations?: Labels } | undefined,
  namespace: string,
  assignments: AssignmentSource,
): string | undefined {
  if (metadata?.labels?.[IstioLabel.Revision] !== undefined) return undefined;
  if (optsOutOfInjection(metadata?.labels, metadata?.annotations)) return undefined;
  return assignments.handoffRevisionOf?.(namespace);
}

/**
 * Pods get `istio.io/rev` set to the revision their workload or namespace is assigned now (so a pod from a stale
 * template, or in a namespace whose label lags, is injected by the assigned revision); workloads assigned at
 * workload granularity get their template label pinned (so re-applying an old manifest does not undo the move).
 * In a handed-over namespace, workloads and pods that name no revision get the one its label injected.
 * Anything else comes back unchanged.
 */
export function mutate(target: AdmissionTarget, assignments: AssignmentSource): AdmittedObject {
  const { object, namespace } = target;
  if (PROTECTED_NAMESPACES.includes(namespace)) return object;
  if (target.kind === 'Pod') {
    const owner = podOwner(object);
    // A workload's own assignment counts once its move has started (the restart mark is copied from the template
    // to its pods): before that, labelling its new pods would move them outside maxUnavailable, or while halted.
    const ownerRevision = owner ? assignments.revisionFor(namespace, owner) : undefined;
    const revision =
      (ownerRevision !== undefined && object.metadata?.annotations?.[MeshwaveAnnotation.RestartedFor] === ownerRevision
        ? ownerRevision
        : undefined) ??
      assignments.revisionFor(namespace) ??
      handoffDefault(object.metadata, namespace, assignments);
    if (revision === undefined || object.metadata?.labels?.[IstioLabel.Revision] === revision) return object;
    return {
      ...object,
      metadata: { ...object.metadata, labels: { ...object.metadata?.labels, [IstioLabel.Revision]: revision } },
    };
  }
  if (WORKLOAD_KINDS.has(target.kind)) {
    const name = object.metadata?.name;
    const template = object.spec?.template;
    // Pinned once the move started (so re-applying an old manifest does not undo it), not before.
    const assigned = name ? assignments.revisionFor(namespace, { kind: target.kind, name }) : undefined;
    const revision =
      (assigned !== undefined && template?.metadata?.annotations?.[MeshwaveAnnotation.RestartedFor] === assigned
        ? assigned
        : undefined) ?? handoffDefault(template?.metadata, namespace, assignments);
    if (revision === undefined || !template || template.metadata?.labels?.[IstioLabel.Revision] === revision)
      return object;
    return {
      ...object,
      spec: {
        ...object.spec,
        template: {
          ...template,
          metadata: { ...template.metadata, labels: { ...template.metadata?.labels, [IstioLabel.Revision]: revision } },
        },
      },
    };
  }
  return object;
}

/** An AdmissionReview request as the apiserver sends it (admission.k8s.io/v1). */
export interface AdmissionReviewRequest {
  readonly uid: string;
  readonly kind?: { readonly kind?: string };
  readonly namespace?: string;
  readonly operation?: string;
  readonly object?: AdmittedObject;
}

/** Answers one AdmissionReview: always allowed (this webhook never blocks), with the diff patch when there is one. */
export function reviewAdmission(
  review: { request?: AdmissionReviewRequest },
  assignments: AssignmentSource,
): Record<string, unknown> {
  const req = review.request;
  const response: Record<string, unknown> = { uid: req?.uid ?? '', allowed: true };
  if (req?.object && (req.operation === 'CREATE' || req.operation === 'UPDATE')) {
    const kind = req.kind?.kind ?? req.object.kind ?? '';
    const namespace = req.namespace ?? req.object.metadata?.namespace ?? '';
    const isPodCreate = kind === 'Pod' && req.operation === 'CREATE';
    if (isPodCreate || WORKLOAD_KINDS.has(kind)) {
      const ops: JsonPatchOperation[] = diffJsonPatch(
        req.object,
        mutate({ kind, namespace, object: req.object }, assignments),
      );
      if (ops.length > 0) {
        response.patchType = 'JSONPatch';
        response.patch = Buffer.from(JSON.stringify(ops)).toString('base64');
      }
    }
  }
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

export { startWebhookServer, type WebhookServer, type WebhookServerOptions } from './webhook-server.js';

/** Name sorts before Istio's `istio-sidecar-injector-*`: the apiserver calls mutating webhooks in name order. */
export const WEBHOOK_CONFIGURATION_NAME = 'aa-meshwave-revision-pin';

/**
 * The MutatingWebhookConfiguration (admissionregistration.k8s.io/v1) that routes pods and workloads to the
 * webhook. `failurePolicy: Ignore` so a webhook outage never blocks a deploy; `reinvocationPolicy: IfNeeded`
 * in case another webhook runs first; control-plane and meshwave namespaces excluded.
 */
export function webhookConfiguration(options: {
  readonly caBundle: string;
  /** `https://host:port/mutate` (tests, out-of-cluster) or a Service reference */
  readonly url?: string;
  readonly service?: { readonly namespace: string; readonly name: string; readonly port?: number };
  readonly timeoutSeconds?: number;
  readonly name?: string;
}): Record<string, unknown> {
  const clientConfig = {
    caBundle: options.caBundle,
    ...(options.url ? { url: options.url } : { service: { ...options.service, path: '/mutate' } }),
  };
  const common = {
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    failurePolicy: 'Ignore',
    timeoutSeconds: Math.min(5, options.timeoutSeconds ?? 3),
    reinvocationPolicy: 'IfNeeded',
    clientConfig,
    namespaceSelector: {
      matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...PROTECTED_NAMESPACES] }],
    },
  };
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: options.name ?? WEBHOOK_CONFIGURATION_NAME, labels: { 'app.kubernetes.io/part-of': 'meshwave' } },
    webhooks: [
      {
        name: 'pods.revision-pin.meshwave.io',
        ...common,
        objectSelector: { matchExpressions: [{ key: IstioLabel.Inject, operator: 'NotIn', values: ['false'] }] },
        rules: [
          { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' },
        ],
      },
      {
        name: 'workloads.revision-pin.meshwave.io',
        ...common,
        rules: [
          {
            apiGroups: ['apps'],
            apiVersions: ['v1'],
            operations: ['CREATE', 'UPDATE'],
            resources: ['deployments', 'statefulsets', 'daemonsets'],
            scope: 'Namespaced',
          },
        ],
      },
    ],
  };
}

/** The same mutation as a simulated cluster's admission step, for the embedded demo and unit tests. */
export function simulatedAdmission(assignments: AssignmentSource): PodAdmission {
  return (pod) => {
    const object: AdmittedObject = {
      kind: 'Pod',
      metadata: {
        name: pod.name,
        namespace: pod.namespace,
        labels: pod.labels,
        annotations: pod.annotations,
        ...(pod.owner ? { ownerReferences: [{ kind: pod.owner.kind, name: pod.owner.name, controller: true }] } : {}),
      },
    };
    const labels =
      mutate({ kind: 'Pod', namespace: pod.namespace, object }, assignments).metadata?.labels ?? pod.labels;
    return { ...pod, labels };
  };
}
