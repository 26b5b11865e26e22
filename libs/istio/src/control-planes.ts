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

/** A control plane as the agent reports it (the inventory's `controlPlanes` entries). */
export interface ControlPlaneView {
  readonly revision: string;
  /** istiod's image tag; null when its image names none (a digest) */
  readonly version: string | null;
  readonly ready: boolean;
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
