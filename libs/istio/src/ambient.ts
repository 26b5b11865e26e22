/**
 * Istio's ambient mode, recognised from what Istio's own charts write (ADR 0051): a namespace enrolled by
 * `istio.io/dataplane-mode=ambient`; the `istio-cni-node` DaemonSet (`k8s-app: istio-cni-node`, its revision the
 * label `istio.io/rev`); the `ztunnel` DaemonSet (`app: ztunnel`, its revision the annotation `istio.io/rev` on the
 * DaemonSet and its pod template); both labelled `app.kubernetes.io/version` and running an image tagged with
 * Istio's version. Waypoints are Gateway API `Gateway` objects labelled `istio.io/waypoint-for`.
 */
import { IstioLabel, imageTag } from './revision-labels.js';

export const AmbientLabel = {
  /** on a namespace (or pod): `ambient` enrols it in ambient mode, `none` opts out */
  DataplaneMode: 'istio.io/dataplane-mode',
  /** on a waypoint `Gateway`: the traffic it serves (`service`, `workload`, `all`, `none`) */
  WaypointFor: 'istio.io/waypoint-for',
  /** Istio's charts: the chart's version */
  Version: 'app.kubernetes.io/version',
  /** Istio's charts: `ztunnel`, `istio-cni` */
  Name: 'app.kubernetes.io/name',
} as const;

export const DATAPLANE_MODE_AMBIENT = 'ambient';

/** The container of each node agent whose image tag is its version. */
export const NODE_AGENT_CONTAINERS = { ztunnel: 'istio-proxy', 'istio-cni': 'install-cni' } as const;

export type NodeAgentKindName = keyof typeof NODE_AGENT_CONTAINERS;

/** True for a namespace (by its labels) enrolled in ambient mode: its pods have no sidecar to restart. */
export const isAmbientNamespace = (labels: Readonly<Record<string, string>> | undefined): boolean =>
  labels?.[AmbientLabel.DataplaneMode] === DATAPLANE_MODE_AMBIENT;

/** What recognition reads of a DaemonSet. */
export interface NodeAgentCandidate {
  readonly kind: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly templateLabels: Readonly<Record<string, string>>;
  readonly templateAnnotations: Readonly<Record<string, string>>;
  /** the pod template's images by container name */
  readonly images?: Readonly<Record<string, string>>;
}

/** The node agent a DaemonSet is, or undefined when it is none. */
export function nodeAgentOf(d: NodeAgentCandidate): NodeAgentKindName | undefined {
  if (d.kind !== 'DaemonSet') return undefined;
  const name = d.templateLabels[AmbientLabel.Name] ?? d.labels[AmbientLabel.Name];
  if (d.templateLabels.app === 'ztunnel' || name === 'ztunnel') return 'ztunnel';
  if (d.templateLabels['k8s-app'] === 'istio-cni-node' || name === 'istio-cni') return 'istio-cni';
  return undefined;
}

/**
 * The revision a node agent's pod template serves: its `istio.io/rev` label (istio-cni's chart), else annotation
 * (ztunnel's chart), template first; null when neither says (the default revision's charts set none).
 */
export function nodeAgentRevisionOf(d: NodeAgentCandidate): string | null {
  return (
    d.templateLabels[IstioLabel.Revision] ??
    d.templateAnnotations[IstioLabel.Revision] ??
    d.labels[IstioLabel.Revision] ??
    d.annotations?.[IstioLabel.Revision] ??
    null
  );
}

/** `1.25.2-distroless` → `1.25.2`: the variant suffix of an image tag is no part of the version. */
const withoutVariant = (tag: string): string => tag.replace(/-(distroless|debug)$/, '');

/**
 * The version of a node agent from its container's image tag (what runs), else the chart's version label; null
 * when neither names one (an image by digest and no label).
 */
export function nodeAgentVersionOf(
  kind: NodeAgentKindName,
  images: Readonly<Record<string, string>> | undefined,
  labels: Readonly<Record<string, string>>,
): string | null {
  const image = images?.[NODE_AGENT_CONTAINERS[kind]];
  const tag = image === undefined ? undefined : imageTag(image);
  if (tag !== undefined && tag !== '') return withoutVariant(tag);
  return labels[AmbientLabel.Version] ?? null;
}

/** The pool a node belongs to: the first of `poolLabels` it carries. */
export function nodePoolOf(
  labels: Readonly<Record<string, string>>,
  poolLabels: readonly string[],
): string | undefined {
  for (const key of poolLabels) {
    const v = labels[key];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

/** What a waypoint serves, when a `Gateway`'s labels make it one. */
export function waypointForOf(labels: Readonly<Record<string, string>> | undefined): string | undefined {
  const v = labels?.[AmbientLabel.WaypointFor];
  return v === undefined || v === '' ? undefined : v;
}
