/** Labels and annotations of Istio's injection contract and of meshwave's own bookkeeping. */
export const IstioLabel = {
  /** on a namespace or pod (template): which control-plane revision injects its pods */
  Revision: 'istio.io/rev',
  /** legacy namespace switch; it wins over `istio.io/rev`, so it must go when a namespace is moved */
  Injection: 'istio-injection',
  /** per-pod opt-out (`"false"`) */
  Inject: 'sidecar.istio.io/inject',
} as const;

export const IstioAnnotation = {
  /** JSON written by the injector: `{"containers":["istio-proxy"],...,"revision":"1-25-2"}` */
  SidecarStatus: 'sidecar.istio.io/status',
} as const;

/** The sidecar container's name, whose image tag carries the proxy version. */
export const PROXY_CONTAINER = 'istio-proxy';

export const MeshwaveAnnotation = {
  /** `kubectl rollout restart` writes this pod-template annotation; so do we */
  RestartedAt: 'kubectl.kubernetes.io/restartedAt',
  /**
   * Revision the workload was last restarted for, written in the same patch as the restart. A restarted
   * agent reads it back and so never restarts a workload twice for the same target revision.
   */
  RestartedFor: 'meshwave.io/restarted-for',
  /** the retry attempt the restart was written for (absent: the first); a later attempt restarts once more */
  RestartAttempt: 'meshwave.io/restart-attempt',
  /** `<rolloutId>#<generation>` of the command that caused the restart, for operators */
  RestartedBy: 'meshwave.io/restarted-by',
  /**
   * Pod-template annotation of a namespace label handoff (ADR 0011): the revision the namespace label injected,
   * now carried by the template's own `istio.io/rev`. Read back, it marks the handoff as started.
   */
  HandoffOf: 'meshwave.io/handoff-of',
  /** when the handoff restart was written, for its progress deadline */
  HandoffAt: 'meshwave.io/handoff-at',
} as const;

export const MeshwaveLabel = {
  /**
   * On a namespace whose `istio.io/rev` was handed over to its pod templates (ADR 0011): the revision the label
   * injected. The admission webhook gives it to new workloads and pods of the namespace that name none.
   */
  HandoffOf: 'meshwave.io/handoff-of',
} as const;

/** The last restart meshwave wrote on a pod template: the revision it was for, and when it was written. */
export interface TemplateRestart {
  readonly revision: string;
  /** ms since the epoch; NaN when the template does not say */
  readonly atMs: number;
  /** a namespace label handoff restart (ADR 0011), not a move */
  readonly handoff: boolean;
  /** the retry attempt it was written for; 0 for the first */
  readonly attempt: number;
}

/**
 * The last restart meshwave wrote on a pod template. A move or failback writes `restarted-for`; a handoff writes
 * `handoff-of` and clears `restarted-for`. So `handoff-of` names the last restart only while no `restarted-for`
 * follows it: once a workload has moved, its handoff mark is history, not a restart toward that revision.
 */
export function lastRestartOf(templateAnnotations: Readonly<Record<string, string>>): TemplateRestart | undefined {
  const movedFor = templateAnnotations[MeshwaveAnnotation.RestartedFor];
  if (movedFor !== undefined)
    return {
      revision: movedFor,
      atMs: Date.parse(templateAnnotations[MeshwaveAnnotation.RestartedAt] ?? ''),
      handoff: false,
      attempt: Number(templateAnnotations[MeshwaveAnnotation.RestartAttempt] ?? 0) || 0,
    };
  const handedOver = templateAnnotations[MeshwaveAnnotation.HandoffOf];
  if (handedOver !== undefined)
    return {
      revision: handedOver,
      atMs: Date.parse(templateAnnotations[MeshwaveAnnotation.HandoffAt] ?? ''),
      handoff: true,
      attempt: 0,
    };
  return undefined;
}

/**
 * The revision tag `istio-injection=enabled` stands for. Istio's `default` tag webhook injects both namespaces
 * labelled `istio-injection=enabled` and pods labelled `istio.io/rev=default`.
 */
export const DEFAULT_REVISION_TAG = 'default';

/**
 * The revision a namespace's labels inject into every pod whatever the pod's own label says, as Istio's webhook
 * selectors read them: `istio-injection=enabled` (the default tag), else `istio.io/rev`; undefined without either
 * (and for `istio-injection` of any other value, which no revision injects).
 */
export function revisionForcedByNamespace(labels: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const injection = labels?.[IstioLabel.Injection];
  if (injection !== undefined) return injection === 'enabled' ? DEFAULT_REVISION_TAG : undefined;
  const rev = labels?.[IstioLabel.Revision];
  return typeof rev === 'string' ? rev : undefined;
}

/** A pod template (or pod) that opts out of injection, by label or annotation: no revision injects it. */
export const optsOutOfInjection = (
  labels: Readonly<Record<string, unknown>> | undefined,
  annotations?: Readonly<Record<string, unknown>>,
): boolean => labels?.[IstioLabel.Inject] === 'false' || annotations?.[IstioLabel.Inject] === 'false';

/** Namespaces the agent never touches and the webhook never mutates. */
export const PROTECTED_NAMESPACES: readonly string[] = [
  'istio-system',
  'kube-system',
  'kube-public',
  'kube-node-lease',
  'meshwave',
];

/**
 * The proxy version a revision's injector ships, when the revision name spells a version (`1-25-2` → `1.25.2`).
 * Revisions with other names (`canary`) have no expected version: only the injected revision is checked.
 */
export function proxyVersionOfRevision(revision: string): string | undefined {
  const m = /^(\d+)-(\d+)-(\d+)(?:-(.+))?$/.exec(revision);
  if (!m) return undefined;
  return `${m[1]}.${m[2]}.${m[3]}${m[4] ? `-${m[4]}` : ''}`;
}

/** Tag of an image reference (`docker.io/istio/proxyv2:1.25.2` → `1.25.2`); undefined for digests or no tag. */
export function imageTag(image: string): string | undefined {
  if (image.includes('@')) return undefined;
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? image.slice(colon + 1) : undefined;
}

/**
 * Revisions already read from `sidecar.istio.io/status` values. A cluster's pods carry few distinct values (one
 * per revision and proxy template), while the agent reads a pod's revision several times on each assessment of
 * its unit: parsing the JSON each time was the agent's largest single cost in a big wave (issue 15). Bounded: it
 * starts over when full, so odd values cannot grow it.
 */
const parsedStatuses = new Map<string, string | null>();
const PARSED_STATUSES_MAX = 1024;

/** The revision recorded by the injector in `sidecar.istio.io/status`, or null when the pod has no sidecar. */
export function injectedRevisionOf(annotations: Readonly<Record<string, string>> | undefined): string | null {
  const raw = annotations?.[IstioAnnotation.SidecarStatus];
  if (raw === undefined) return null;
  const known = parsedStatuses.get(raw);
  if (known !== undefined || parsedStatuses.has(raw)) return known ?? null;
  const revision = revisionInStatus(raw);
  if (parsedStatuses.size >= PARSED_STATUSES_MAX) parsedStatuses.clear();
  parsedStatuses.set(raw, revision);
  return revision;
}

function revisionInStatus(raw: string): string | null {
  try {
    const parsed: unknown = JSON.parse(raw);
    if (parsed !== null && typeof parsed === 'object' && 'revision' in parsed && typeof parsed.revision === 'string')
      return parsed.revision;
    // Istio before revisions wrote no revision field: the default revision.
    return 'default';
  } catch {
    return null;
  }
}
