import { WorkloadKind } from '@meshwave/contracts';
import { controlPlaneOf, injectorRevisionOf, revisionTagOf } from '@meshwave/istio';
import { workloadPreflightOf } from './workload-preflight.js';
import type {
  DisruptionBudgetView,
  IstioInstallation,
  LabelSelectorView,
  Labels,
  NamespaceView,
  PodView,
  WebhookConfigurationView,
  WorkloadView,
} from '../ports/kubernetes-port.js';

/** An object as the apiserver returns it, read only as far as the views need. */
export type RawObject = {
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    generation?: number;
    deletionTimestamp?: string;
    ownerReferences?: { controller?: boolean; kind?: string; name?: string }[];
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
};

/** The collection each workload kind is served under (apps/v1). */
export const WORKLOAD_RESOURCES: Readonly<Record<WorkloadKind, string>> = {
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
};

const num = (v: unknown, fallback = 0): number => (typeof v === 'number' ? v : fallback);

export function toNamespaceView(o: RawObject): NamespaceView {
  return {
    name: o.metadata?.name ?? '',
    labels: o.metadata?.labels ?? {},
    resourceVersion: o.metadata?.resourceVersion ?? '',
  };
}

/** One shape for the three workload kinds: their status fields differ in name, not in meaning. */
export function toWorkloadView(kind: WorkloadKind, o: RawObject): WorkloadView {
  const spec = (o.spec ?? {}) as {
    replicas?: number;
    selector?: { matchLabels?: Labels };
    template?: {
      metadata?: { labels?: Labels; annotations?: Labels };
      spec?: { containers?: { name: string; image?: string }[] };
    };
  };
  const status = o.status ?? {};
  const conditions = (status.conditions ?? []) as { type?: string; status?: string; reason?: string }[];
  const ds = kind === WorkloadKind.DaemonSet;
  return {
    namespace: o.metadata?.namespace ?? '',
    kind,
    name: o.metadata?.name ?? '',
    labels: o.metadata?.labels ?? {},
    templateLabels: spec.template?.metadata?.labels ?? {},
    templateAnnotations: spec.template?.metadata?.annotations ?? {},
    images: Object.fromEntries((spec.template?.spec?.containers ?? []).map((c) => [c.name, c.image ?? ''])),
    selector: spec.selector?.matchLabels ?? {},
    replicas: ds ? num(status.desiredNumberScheduled) : (spec.replicas ?? 1),
    generation: o.metadata?.generation ?? 0,
    observedGeneration: num(status.observedGeneration),
    updatedReplicas: ds ? num(status.updatedNumberScheduled) : num(status.updatedReplicas),
    availableReplicas: ds ? num(status.numberAvailable) : num(status.availableReplicas),
    progressDeadlineExceeded: conditions.some(
      (c) => c.type === 'Progressing' && c.status === 'False' && c.reason === 'ProgressDeadlineExceeded',
    ),
    resourceVersion: o.metadata?.resourceVersion ?? '',
    preflight: workloadPreflightOf(o.spec ?? {}),
  };
}

/** A PodDisruptionBudget (policy/v1) as far as the preflight reads it: its selector and its int-or-percent bounds. */
export function toDisruptionBudgetView(o: RawObject): DisruptionBudgetView {
  const spec = (o.spec ?? {}) as {
    selector?: LabelSelectorView | null;
    minAvailable?: number | string;
    maxUnavailable?: number | string;
  };
  return {
    namespace: o.metadata?.namespace ?? '',
    name: o.metadata?.name ?? '',
    selector: spec.selector ?? null,
    ...(spec.minAvailable !== undefined ? { minAvailable: spec.minAvailable } : {}),
    ...(spec.maxUnavailable !== undefined ? { maxUnavailable: spec.maxUnavailable } : {}),
    resourceVersion: o.metadata?.resourceVersion ?? '',
  };
}

export function toWebhookConfigurationView(o: RawObject): WebhookConfigurationView {
  return {
    name: o.metadata?.name ?? '',
    labels: o.metadata?.labels ?? {},
    resourceVersion: o.metadata?.resourceVersion ?? '',
  };
}

/** The object's controller owner reference, as `{kind, name}`. */
export function controllerOf(o: RawObject): { kind: string; name: string } | undefined {
  const r = (o.metadata?.ownerReferences ?? []).find((x) => x.controller === true);
  return r?.kind !== undefined && r.name !== undefined ? { kind: r.kind, name: r.name } : undefined;
}

export function toPodView(o: RawObject): PodView {
  const spec = (o.spec ?? {}) as { containers?: { name: string; image?: string }[] };
  const status = (o.status ?? {}) as {
    phase?: string;
    conditions?: { type?: string; status?: string }[];
    containerStatuses?: { restartCount?: number; state?: { waiting?: { reason?: string } } }[];
  };
  const statuses = status.containerStatuses ?? [];
  const owner = controllerOf(o);
  return {
    namespace: o.metadata?.namespace ?? '',
    name: o.metadata?.name ?? '',
    labels: o.metadata?.labels ?? {},
    annotations: o.metadata?.annotations ?? {},
    controlled: (o.metadata?.ownerReferences ?? []).some((r) => r.controller === true),
    ...(owner ? { owner } : {}),
    containers: (spec.containers ?? []).map((c) => ({ name: c.name, image: c.image ?? '' })),
    phase: status.phase ?? 'Unknown',
    ready: (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    restarts: statuses.reduce((n, c) => n + (c.restartCount ?? 0), 0),
    crashLooping: statuses.some((c) => c.state?.waiting?.reason === 'CrashLoopBackOff'),
    terminating: o.metadata?.deletionTimestamp !== undefined,
    resourceVersion: o.metadata?.resourceVersion ?? '',
  };
}

/**
 * The control planes among istio-system's Deployments, and the revision tags and revisions' own injection
 * webhooks among the cluster's MutatingWebhookConfigurations (libs/istio says which is which).
 */
export function toIstioInstallation(
  deployments: readonly RawObject[],
  webhooks: readonly RawObject[],
): IstioInstallation {
  const controlPlanes = deployments
    .map((o) => controlPlaneOf(toWorkloadView(WorkloadKind.Deployment, o)))
    .filter((p) => p !== undefined)
    .sort((a, b) => a.revision.localeCompare(b.revision));
  const tags: Record<string, string> = {};
  const injectors: string[] = [];
  for (const o of webhooks) {
    const webhook = { name: o.metadata?.name ?? '', labels: o.metadata?.labels ?? {} };
    const t = revisionTagOf(webhook);
    if (t) tags[t.tag] = t.revision;
    const injector = injectorRevisionOf(webhook);
    if (injector !== undefined) injectors.push(injector);
  }
  return { controlPlanes, tags, injectors: injectors.sort() };
}
