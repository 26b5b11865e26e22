import { IstioLabel, imageTag } from './revision-labels.js';

/** Where istiod and Istio's cluster-wide objects live. */
export const ISTIO_SYSTEM_NAMESPACE = 'istio-system';

/** istiod's Deployment carries `app=istiod` (gateways in istio-system carry `istio.io/rev` too, not this). */
export const ISTIOD_APP_LABEL = { key: 'app', value: 'istiod' } as const;

/** istiod's container, whose image tag is the control plane's version. */
export const ISTIOD_CONTAINER = 'discovery';

/** On a revision tag's MutatingWebhookConfiguration (`istio-revision-tag-<tag>`): the tag's name. */
export const REVISION_TAG_LABEL = 'istio.io/tag';
export const REVISION_TAG_WEBHOOK_PREFIX = 'istio-revision-tag-';

/** istiod's own injection webhook: `istio-sidecar-injector-<revision>` (`istio-sidecar-injector` for `default`). */
export const INJECTOR_WEBHOOK_PREFIX = 'istio-sidecar-injector';

/** A control plane as the agent reports it (the inventory's `controlPlanes` entries). */
export interface ControlPlaneView {
  readonly revision: string;
  /** istiod's image tag; null when its image names none (a digest) */
  readonly version: string | null;
  readonly ready: boolean;
  /** the registry path istiod's image comes from (`gcr.io/istio-release`), which its proxies come from by default */
  readonly hub?: string;
  /** the mesh its `discoverySelectors` select (ADR 0056); absent when it serves every namespace, or is unread */
  readonly mesh?: string;
}

/** The hub of an image reference: everything before its last path segment (`docker.io/istio/pilot:1.25.2` → `docker.io/istio`). */
export function imageHub(image: string): string | undefined {
  const slash = image.lastIndexOf('/');
  return slash > 0 ? image.slice(0, slash) : undefined;
}

/** The parts of a Deployment the control plane is read from. */
export interface DeploymentShape {
  readonly namespace: string;
  readonly kind: string;
  readonly labels: Readonly<Record<string, string>>;
  /** pod template container name → image */
  readonly images?: Readonly<Record<string, string>>;
  readonly availableReplicas: number;
}

/**
 * The control plane a Deployment is, when it is an istiod of istio-system: its revision from `istio.io/rev`
 * (`default` without one, as istioctl installs it), its version from the `discovery` container's image tag, and
 * ready while at least one replica is available (one istiod serves injection and configuration).
 */
export function controlPlaneOf(d: DeploymentShape): ControlPlaneView | undefined {
  if (d.kind !== 'Deployment' || d.namespace !== ISTIO_SYSTEM_NAMESPACE) return undefined;
  if (d.labels[ISTIOD_APP_LABEL.key] !== ISTIOD_APP_LABEL.value) return undefined;
  const image = d.images?.[ISTIOD_CONTAINER];
  return {
    revision: d.labels[IstioLabel.Revision] ?? 'default',
    version: (image === undefined ? undefined : imageTag(image)) ?? null,
    ready: d.availableReplicas > 0,
    ...(image !== undefined && imageHub(image) !== undefined ? { hub: imageHub(image)! } : {}),
  };
}

/**
 * The revision tag a MutatingWebhookConfiguration is, as `istioctl tag set` writes it: named
 * `istio-revision-tag-<tag>`, labelled `istio.io/tag=<tag>` and `istio.io/rev=<revision it points to>`.
 */
export function revisionTagOf(webhook: {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}): { tag: string; revision: string } | undefined {
  const tag = webhook.labels[REVISION_TAG_LABEL];
  const revision = webhook.labels[IstioLabel.Revision];
  if (tag === undefined || revision === undefined) return undefined;
  if (webhook.name !== `${REVISION_TAG_WEBHOOK_PREFIX}${tag}`) return undefined;
  return { tag, revision };
}

/**
 * The revision whose own injection webhook a MutatingWebhookConfiguration is (`istio-sidecar-injector-<rev>`
 * labelled `istio.io/rev=<rev>`, or `istio-sidecar-injector` of the default revision), not a tag's.
 */
export function injectorRevisionOf(webhook: {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}): string | undefined {
  if (webhook.labels[REVISION_TAG_LABEL] !== undefined) return undefined;
  const revision = webhook.labels[IstioLabel.Revision];
  if (webhook.name === INJECTOR_WEBHOOK_PREFIX) return revision ?? 'default';
  return revision !== undefined && webhook.name === `${INJECTOR_WEBHOOK_PREFIX}-${revision}` ? revision : undefined;
}

/**
 * Why pods cannot be restarted onto `revision` now: its istiod is missing or not ready, or its injection webhook
 * is not registered (pods would start without a sidecar, or not at all). Undefined when both are there.
 */
export function controlPlaneNotReady(
  installation: { readonly controlPlanes: readonly ControlPlaneView[]; readonly injectors: readonly string[] },
  revision: string,
): string | undefined {
  const plane = installation.controlPlanes.find((p) => p.revision === revision);
  if (plane === undefined) return `no istiod of revision ${revision} in ${ISTIO_SYSTEM_NAMESPACE}`;
  if (!plane.ready) return `istiod of revision ${revision} has no available replica`;
  if (!installation.injectors.includes(revision))
    return `the injection webhook of revision ${revision} is not registered`;
  return undefined;
}
