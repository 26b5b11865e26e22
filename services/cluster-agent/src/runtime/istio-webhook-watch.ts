import { injectorRevisionOf, revisionTagOf } from '@meshwave/istio';
import type { KubernetesPort, WatchHandle, WebhookConfigurationView } from '../ports/kubernetes-port.js';

/** Istio's own webhook configurations: a revision's injection webhook or a revision tag's. */
const isIstioWebhook = (w: WebhookConfigurationView): boolean =>
  injectorRevisionOf(w) !== undefined || revisionTagOf(w) !== undefined;

/**
 * Watches the cluster's MutatingWebhookConfigurations (ADR 0046) and calls `onChange` when one of Istio's changes:
 * a revision's injection webhook deleted by hand, a tag moved by `istioctl tag set`. The agent then reads the
 * installation again at its next ask instead of trusting its cache window; other webhooks (the agent's own, any
 * other tool's) change nothing it decides. A re-list (start, 410 Gone, a restarted watch) may hide a change, so it
 * counts as one.
 */
export function watchIstioWebhooks(
  port: Pick<KubernetesPort, 'watch'>,
  onChange: (webhook: string | undefined) => void,
): WatchHandle {
  return port.watch('webhookConfigurations', (event) => {
    if (event.type === 'resync') onChange(undefined);
    else if (isIstioWebhook(event.object)) onChange(event.object.name);
  });
}
