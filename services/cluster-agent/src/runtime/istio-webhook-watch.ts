import { injectorRevisionOf, revisionTagOf } from '@meshwave/istio';
import type { KubernetesPort, WatchEvent, WatchHandle, WebhookConfigurationView } from '../ports/kubernetes-port.js';

/** Istio's own webhook configurations: a revision's injection webhook or a revision tag's. */
const isIstioWebhook = (w: WebhookConfigurationView): boolean =>
  injectorRevisionOf(w) !== undefined || revisionTagOf(w) !== undefined;

/**
 * The cluster's revision tags as the watch of webhook configurations sees them (tag → revision), so a unit whose
 * target is a tag is judged on the revision that injects its pods now (ADR 0046), without a read per unit.
 */
export class LiveRevisionTags {
  private readonly tags = new Map<string, string>();

  /** the revision `name` points at when it is a revision tag; undefined for a revision (or an unknown tag) */
  revisionOf(name: string): string | undefined {
    return this.tags.get(name);
  }

  apply(event: WatchEvent<WebhookConfigurationView>): void {
    if (event.type === 'resync') {
      this.tags.clear();
      for (const w of event.objects) this.set(w);
      return;
    }
    const t = revisionTagOf(event.object);
    if (event.type === 'delete') {
      if (t) this.tags.delete(t.tag);
    } else this.set(event.object);
  }

  private set(w: WebhookConfigurationView): void {
    const t = revisionTagOf(w);
    if (t) this.tags.set(t.tag, t.revision);
  }
}

/**
 * Watches the cluster's MutatingWebhookConfigurations (ADR 0046), keeps `tags` current and calls `onChange` when one
 * of Istio's changes: a revision's injection webhook deleted by hand, a tag moved by `istioctl tag set`. The agent
 * then reads the installation again at its next ask instead of trusting its cache window; other webhooks (the
 * agent's own, any other tool's) change nothing it decides. A re-list (start, 410 Gone, a restarted watch) may hide
 * a change, so it counts as one.
 */
export function watchIstioWebhooks(
  port: Pick<KubernetesPort, 'watch'>,
  tags: LiveRevisionTags,
  onChange: (webhook: string | undefined) => void,
): WatchHandle {
  return port.watch('webhookConfigurations', (event) => {
    tags.apply(event);
    if (event.type === 'resync') onChange(undefined);
    else if (isIstioWebhook(event.object)) onChange(event.object.name);
  });
}
