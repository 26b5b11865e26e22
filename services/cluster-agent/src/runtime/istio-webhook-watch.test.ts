import { describe, expect, it } from 'vitest';
import type { KubernetesPort, WatchHandler, WebhookConfigurationView } from '../ports/kubernetes-port.js';
import { LiveRevisionTags, watchIstioWebhooks } from './istio-webhook-watch.js';

const newWebhook = (name: string, labels: Record<string, string> = {}): WebhookConfigurationView => ({
  name,
  labels,
  resourceVersion: '1',
});

describe('watchIstioWebhooks', () => {
  it("calls back for Istio's injection and tag webhooks and after a re-list, never for another tool's webhook", () => {
    let handler: WatchHandler<WebhookConfigurationView> | undefined;
    const port = {
      watch: (resource: string, h: WatchHandler<WebhookConfigurationView>) => {
        expect(resource).toBe('webhookConfigurations');
        handler = h;
        return { stop: () => undefined };
      },
    } as Pick<KubernetesPort, 'watch'>;
    const seen: (string | undefined)[] = [];
    const tags = new LiveRevisionTags();
    watchIstioWebhooks(port, tags, (name) => seen.push(name));
    handler!({ type: 'resync', objects: [] });
    handler!({
      type: 'delete',
      object: newWebhook('istio-sidecar-injector-1-25-2', { 'istio.io/rev': '1-25-2' }),
    });
    handler!({
      type: 'upsert',
      object: newWebhook('istio-revision-tag-prod', { 'istio.io/tag': 'prod', 'istio.io/rev': '1-25-2' }),
    });
    handler!({ type: 'upsert', object: newWebhook('meshwave-cluster-agent') });
    expect(seen).toEqual([undefined, 'istio-sidecar-injector-1-25-2', 'istio-revision-tag-prod']);
    // the tags as the watch saw them: a unit whose target is a tag is judged on the tag's revision
    expect(tags.revisionOf('prod')).toBe('1-25-2');
    expect(tags.revisionOf('1-25-2')).toBeUndefined();
    handler!({
      type: 'delete',
      object: newWebhook('istio-revision-tag-prod', { 'istio.io/tag': 'prod', 'istio.io/rev': '1-25-2' }),
    });
    expect(tags.revisionOf('prod')).toBeUndefined();
  });
});
