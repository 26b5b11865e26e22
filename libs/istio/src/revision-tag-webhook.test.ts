import { describe, expect, it } from 'vitest';
import { retargetRevisionTag, type WebhookConfigurationObject } from './revision-tag-webhook.js';

const canonical = (revision: string): WebhookConfigurationObject => ({
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'MutatingWebhookConfiguration',
  metadata: {
    name: `istio-sidecar-injector-${revision}`,
    labels: { 'istio.io/rev': revision, app: 'sidecar-injector' },
  },
  webhooks: [
    {
      name: 'rev.namespace.sidecar-injector.istio.io',
      clientConfig: {
        service: { name: `istiod-${revision}`, namespace: 'istio-system', path: '/inject' },
        caBundle: 'Q0E=',
      },
      namespaceSelector: { matchExpressions: [{ key: 'istio.io/rev', operator: 'In', values: [revision] }] },
    },
  ],
});

const newTagConfig = (tag: string, revision: string): WebhookConfigurationObject => ({
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'MutatingWebhookConfiguration',
  metadata: {
    name: `istio-revision-tag-${tag}`,
    labels: { 'istio.io/rev': revision, 'istio.io/tag': tag, app: 'sidecar-injector' },
    resourceVersion: '7',
  },
  webhooks: ['rev.namespace.sidecar-injector.istio.io', 'rev.object.sidecar-injector.istio.io'].map((name) => ({
    name,
    clientConfig: canonical(revision).webhooks![0]!.clientConfig,
    namespaceSelector: { matchExpressions: [{ key: 'istio.io/rev', operator: 'In', values: [tag] }] },
  })),
});

describe('retargetRevisionTag', () => {
  it('points every webhook of the tag at the revision istiod and relabels it, keeping the tag selectors', () => {
    const out = retargetRevisionTag(newTagConfig('prod-stable', '1-24-5'), canonical('1-25-2'), '1-25-2');
    if (!('unchanged' in out) || out.unchanged) throw new Error(JSON.stringify(out));
    expect(out.next.metadata.labels).toMatchObject({ 'istio.io/rev': '1-25-2', 'istio.io/tag': 'prod-stable' });
    expect(out.next.metadata.resourceVersion).toBe('7');
    expect(out.next.webhooks?.map((w) => w.clientConfig)).toEqual([
      canonical('1-25-2').webhooks![0]!.clientConfig,
      canonical('1-25-2').webhooks![0]!.clientConfig,
    ]);
    expect(out.next.webhooks?.map((w) => w['namespaceSelector'])).toEqual(
      newTagConfig('prod-stable', '1-24-5').webhooks!.map((w) => w['namespaceSelector']),
    );
  });

  it('writes nothing when the tag points at the revision already', () => {
    expect(retargetRevisionTag(newTagConfig('t', '1-25-2'), canonical('1-25-2'), '1-25-2')).toEqual({
      unchanged: true,
    });
  });

  it('refuses a canonical webhook of another revision, and a configuration that is not a tag', () => {
    expect(retargetRevisionTag(newTagConfig('t', '1-24-5'), canonical('1-24-5'), '1-25-2')).toHaveProperty('missing');
    expect(retargetRevisionTag(canonical('1-24-5'), canonical('1-25-2'), '1-25-2')).toHaveProperty('missing');
  });
});
