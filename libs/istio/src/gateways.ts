/**
 * Which Deployments are gateways (ADR 0047), read from what Istio's own installers write: the Gateway API
 * deployment controller labels its pods `gateway.networking.k8s.io/gateway-name`; Istio's gateway charts inject
 * with the `gateway` template (`inject.istio.io/templates: gateway`) and label `istio: ingressgateway|egressgateway`.
 */
export const GatewayLabel = {
  /** set by istiod on the Deployment and pods it runs for a Gateway API `Gateway` */
  GatewayApiName: 'gateway.networking.k8s.io/gateway-name',
  /** set by istiod on what it deploys for a `Gateway`: which of its controllers manages it (see `ManagedBy`) */
  Managed: 'gateway.istio.io/managed',
  /** Istio's gateway charts: `ingressgateway` or `egressgateway` */
  Istio: 'istio',
  /** on meshwave's canary copy of a gateway: the name of the gateway Deployment it is a copy of */
  CanaryOf: 'meshwave.io/gateway-canary-of',
  /** in the copy's selector and pod labels, so its ReplicaSets never take the old gateway's pods (or back) */
  CanaryRevision: 'meshwave.io/gateway-revision',
  /** on the copy: the gateway's replicas when its canary began, the total its steps share out */
  Replicas: 'meshwave.io/gateway-replicas',
} as const;

export const GatewayAnnotation = {
  /** the injection templates Istio applies to a pod (`gateway`, `sidecar,custom`) */
  InjectTemplates: 'inject.istio.io/templates',
} as const;

/** The values of `gateway.istio.io/managed`: ingress/egress Gateway API gateways, and waypoints (ambient mode). */
export const ManagedBy = {
  Gateway: 'istio.io-gateway-controller',
  Waypoint: 'istio.io-mesh-controller',
} as const;

const GATEWAY_TEMPLATE = 'gateway';
const CHART_GATEWAYS: ReadonlySet<string> = new Set(['ingressgateway', 'egressgateway']);

/** What a gateway Deployment looks like to recognition: its own labels and its pod template's. */
export interface GatewayCandidate {
  readonly kind: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly templateLabels: Readonly<Record<string, string>>;
  readonly templateAnnotations: Readonly<Record<string, string>>;
}

export type GatewayRecognition =
  { readonly kind: 'gateway-api'; readonly gatewayName: string } | { readonly kind: 'injected' } | undefined;

/**
 * True when the Deployment is one istiod runs for a waypoint (a `Gateway` of class `istio-waypoint`): its pods carry
 * `gateway.networking.k8s.io/gateway-name` like a Gateway API gateway's, but istiod's mesh controller manages it.
 * A waypoint moves by the ambient section's waypoint step (ADR 0051, 0056), never as a gateway unit.
 */
export function isWaypointDeployment(w: GatewayCandidate): boolean {
  if (w.kind !== 'Deployment') return false;
  const managed = w.templateLabels[GatewayLabel.Managed] ?? w.labels[GatewayLabel.Managed];
  return managed === ManagedBy.Waypoint;
}

/** The kind of gateway a workload is, or undefined when it is an ordinary workload (or not a Deployment). */
export function gatewayOf(w: GatewayCandidate): GatewayRecognition {
  if (w.kind !== 'Deployment' || isWaypointDeployment(w)) return undefined;
  const apiName = w.templateLabels[GatewayLabel.GatewayApiName] ?? w.labels[GatewayLabel.GatewayApiName];
  if (apiName !== undefined && apiName !== '') return { kind: 'gateway-api', gatewayName: apiName };
  const templates = (w.templateAnnotations[GatewayAnnotation.InjectTemplates] ?? '').split(',').map((t) => t.trim());
  if (templates.includes(GATEWAY_TEMPLATE)) return { kind: 'injected' };
  const chart = w.templateLabels[GatewayLabel.Istio] ?? w.labels[GatewayLabel.Istio];
  if (chart !== undefined && CHART_GATEWAYS.has(chart)) return { kind: 'injected' };
  return undefined;
}

/** The gateway a Deployment is meshwave's canary copy of, when it is one. */
export function canaryCopyOf(labels: Readonly<Record<string, string>>): string | undefined {
  const of = labels[GatewayLabel.CanaryOf];
  return of === undefined || of === '' ? undefined : of;
}

/** The copy's name: the gateway's and the revision it runs (`istio-ingressgateway-1-25-2`). */
export const canaryCopyName = (gateway: string, revision: string): string => `${gateway}-${revision}`;

/**
 * Replicas of the copy and of the old gateway at `percent` of `total` on the new revision. The copy is rounded up
 * and has at least one pod once a step starts; the old gateway keeps at least one until 100%, so a gateway of one
 * or two replicas runs one pod more during its canary instead of moving whole at the first step.
 */
export function stepReplicas(total: number, percent: number): { readonly copy: number; readonly old: number } {
  if (percent <= 0) return { copy: 0, old: total };
  if (percent >= 100) return { copy: total, old: 0 };
  const copy = Math.max(1, Math.ceil((percent * total) / 100 - 1e-9));
  return { copy, old: Math.max(1, total - copy) };
}
