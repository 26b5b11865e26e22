import type { WorkloadPreflight } from '@meshwave/contracts';
import { IstioLabel, PROXY_CONTAINER } from '@meshwave/istio';

/** `terminationGracePeriodSeconds` the apiserver defaults every pod template to. */
const KUBERNETES_DEFAULT_GRACE_SECONDS = 30;

/** The pod template's annotation carrying proxy settings as YAML (`holdApplicationUntilProxyStarts`, ...). */
const PROXY_CONFIG_ANNOTATION = 'proxy.istio.io/config';

interface RawWorkloadSpec {
  readonly paused?: boolean;
  readonly updateStrategy?: { readonly type?: string; readonly rollingUpdate?: { readonly partition?: number } };
  readonly template?: {
    readonly metadata?: { readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
    readonly spec?: {
      readonly terminationGracePeriodSeconds?: number;
      readonly containers?: readonly { readonly name: string; readonly readinessProbe?: unknown }[];
    };
  };
}

/** `30s`, `1m30s`, `1.5s` (a Go duration) in seconds; undefined when it is none. */
function durationSeconds(text: string): number | undefined {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined;
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 } as const;
  return parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2] as keyof typeof unit], 0);
}

/** One top-level `key: value` of the proxy config annotation (flat YAML, as Istio's docs write it). */
function proxyConfigValue(config: string | undefined, key: string): string | undefined {
  const m = new RegExp(`^\\s*${key}\\s*:\\s*["']?([^"'\\s#]+)`, 'm').exec(config ?? '');
  return m?.[1];
}

/**
 * What the preflight needs of a workload (ADR 0035), read from the object the agent already watches: its
 * readiness probes, rollout switches, injection opt-out and the start/stop ordering of app and proxy.
 */
export function workloadPreflightOf(spec: RawWorkloadSpec): WorkloadPreflight {
  const template = spec.template ?? {};
  const labels = template.metadata?.labels ?? {};
  const annotations = template.metadata?.annotations ?? {};
  const config = annotations[PROXY_CONFIG_ANNOTATION];
  const apps = (template.spec?.containers ?? []).filter((c) => c.name !== PROXY_CONTAINER);
  const drain = proxyConfigValue(config, 'terminationDrainDuration');
  const drainSeconds = drain === undefined ? undefined : durationSeconds(drain);
  const grace = template.spec?.terminationGracePeriodSeconds;
  return {
    readinessProbe: apps.length > 0 && apps.every((c) => c.readinessProbe !== undefined),
    paused: spec.paused === true,
    onDelete: spec.updateStrategy?.type === 'OnDelete',
    partition: spec.updateStrategy?.rollingUpdate?.partition ?? 0,
    injectionDisabled: labels[IstioLabel.Inject] === 'false' || annotations[IstioLabel.Inject] === 'false',
    holdUntilProxyStarts: proxyConfigValue(config, 'holdApplicationUntilProxyStarts') === 'true',
    // the apiserver writes Kubernetes' default (30 s) into every template: only another value is the app's own
    ...(grace !== undefined && grace !== KUBERNETES_DEFAULT_GRACE_SECONDS ? { appShutdownSeconds: grace } : {}),
    ...(drainSeconds !== undefined ? { proxyDrainSeconds: drainSeconds } : {}),
  };
}
