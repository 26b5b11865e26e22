// The injector double keeps istiod's registration and injection contract (no servers needed).
import { describe, expect, it } from 'vitest';
import { diffPatch, injectSidecar, versionOfRevision } from '../injector/mutate.ts';
import { webhookConfiguration } from '../injector/registration.ts';

const injector = { url: 'https://127.0.0.1:9443', caBundle: 'Q0E=', port: 9443, pid: 1 };

interface Webhook {
  name: string;
  failurePolicy: string;
  sideEffects: string;
  reinvocationPolicy: string;
  clientConfig: { url: string; caBundle: string };
  namespaceSelector: { matchExpressions: unknown[] };
  objectSelector: { matchExpressions: unknown[] };
  rules: { operations: string[]; resources: string[] }[];
}

describe('injector double registration', () => {
  it('registers a revision as istiod does: name, labels, two webhooks with its selectors', () => {
    const mwc = webhookConfiguration(injector, { revision: '1-25-2' }) as {
      metadata: { name: string; labels: Record<string, string> };
      webhooks: Webhook[];
    };
    expect(mwc.metadata.name).toBe('istio-sidecar-injector-1-25-2');
    expect(mwc.metadata.labels).toMatchObject({ app: 'sidecar-injector', 'istio.io/rev': '1-25-2' });
    const [byNamespace, byObject] = mwc.webhooks;
    expect(byNamespace?.name).toBe('rev.namespace.sidecar-injector.istio.io');
    expect(byNamespace?.namespaceSelector.matchExpressions).toEqual([
      { key: 'istio.io/rev', operator: 'In', values: ['1-25-2'] },
      { key: 'istio-injection', operator: 'DoesNotExist' },
    ]);
    expect(byNamespace?.objectSelector.matchExpressions).toEqual([
      { key: 'sidecar.istio.io/inject', operator: 'NotIn', values: ['false'] },
    ]);
    expect(byObject?.name).toBe('rev.object.sidecar-injector.istio.io');
    expect(byObject?.namespaceSelector.matchExpressions).toEqual([
      { key: 'istio.io/rev', operator: 'DoesNotExist' },
      { key: 'istio-injection', operator: 'DoesNotExist' },
    ]);
    expect(byObject?.objectSelector.matchExpressions).toEqual([
      { key: 'sidecar.istio.io/inject', operator: 'NotIn', values: ['false'] },
      { key: 'istio.io/rev', operator: 'In', values: ['1-25-2'] },
    ]);
    for (const wh of mwc.webhooks) {
      expect(wh).toMatchObject({ failurePolicy: 'Fail', sideEffects: 'None', reinvocationPolicy: 'Never' });
      expect(wh.clientConfig).toEqual({ url: 'https://127.0.0.1:9443/inject/1-25-2/1.25.2', caBundle: 'Q0E=' });
      expect(wh.rules).toEqual([expect.objectContaining({ operations: ['CREATE'], resources: ['pods'] })]);
    }
  });

  it('registers a tag under istio-revision-tag-<tag>, selecting the tag, injecting the revision', () => {
    const mwc = webhookConfiguration(injector, { revision: '1-24-5', tag: 'prod' }) as {
      metadata: { name: string; labels: Record<string, string> };
      webhooks: Webhook[];
    };
    expect(mwc.metadata.name).toBe('istio-revision-tag-prod');
    expect(mwc.metadata.labels).toMatchObject({ 'istio.io/tag': 'prod', 'istio.io/rev': '1-24-5' });
    expect(mwc.webhooks[0]?.namespaceSelector.matchExpressions[0]).toEqual({
      key: 'istio.io/rev',
      operator: 'In',
      values: ['prod'],
    });
    expect(mwc.webhooks[0]?.clientConfig.url).toBe('https://127.0.0.1:9443/inject/1-24-5/1.24.5');
  });

  it('points a bad revision at the fault path', () => {
    const mwc = webhookConfiguration(injector, { revision: '1-25-2', fault: 'crashloop' }) as { webhooks: Webhook[] };
    expect(mwc.webhooks[0]?.clientConfig.url).toBe('https://127.0.0.1:9443/inject/1-25-2/1.25.2/fault/crashloop');
  });
});

describe('injector double mutation', () => {
  const pod = {
    metadata: { generateName: 'web-7d4b9c-', labels: { app: 'web', version: 'v3' } },
    spec: { containers: [{ name: 'app', image: 'example/web:3' }] },
  };

  it('adds istio-init, istio-proxy of the version, the status annotation with the revision, and the labels', () => {
    const out = injectSidecar(pod, { revision: '1-24-5', version: versionOfRevision('1-24-5') });
    expect(out.spec.initContainers.map((c) => [c.name, c.image])).toEqual([
      ['istio-init', 'docker.io/istio/proxyv2:1.24.5'],
    ]);
    expect(out.spec.containers.map((c) => [c.name, c.image])).toEqual([
      ['app', 'example/web:3'],
      ['istio-proxy', 'docker.io/istio/proxyv2:1.24.5'],
    ]);
    const status = JSON.parse(out.metadata.annotations['sidecar.istio.io/status'] ?? '{}') as Record<string, unknown>;
    expect(status).toMatchObject({
      initContainers: ['istio-init'],
      containers: ['istio-proxy'],
      imagePullSecrets: null,
      revision: '1-24-5',
    });
    expect(out.metadata.annotations['istio.io/rev']).toBe('1-24-5');
    expect(out.metadata.labels).toMatchObject({
      'security.istio.io/tlsMode': 'istio',
      'service.istio.io/canonical-name': 'web',
      'service.istio.io/canonical-revision': 'v3',
    });
    expect(out.metadata.labels['istio.io/rev']).toBeUndefined();
    expect(out.metadata.annotations['meshwave.test/fault']).toBeUndefined();
  });

  it('leaves an injected pod alone, so a second pass patches nothing', () => {
    const once = injectSidecar(pod, { revision: '1-24-5', version: '1.24.5' });
    const twice = injectSidecar(once, { revision: '1-25-2', version: '1.25.2' });
    expect(diffPatch(once, twice)).toEqual([]);
    expect(diffPatch(pod, once).map((op) => op.path)).toEqual([
      '/metadata/labels',
      '/metadata/annotations',
      '/spec/containers',
      '/spec/initContainers',
      '/spec/volumes',
    ]);
  });
});

describe("injector double: Istio's gateway template", () => {
  // a pod of Istio's gateway chart: labelled for injection, asking for the gateway template, its proxy container `auto`
  const gatewayPod = {
    metadata: {
      generateName: 'istio-ingressgateway-5f9c7-',
      labels: { app: 'istio-ingressgateway', istio: 'ingressgateway', 'sidecar.istio.io/inject': 'true' },
      annotations: { 'inject.istio.io/templates': 'gateway' },
    },
    spec: {
      containers: [{ name: 'istio-proxy', image: 'auto', securityContext: { runAsUser: 1337 } }],
    },
  };

  it('makes istio-proxy of the version the main container, running `proxy router`, with no istio-init', () => {
    const out = injectSidecar(gatewayPod, { revision: '1-25-2', version: '1.25.2' });
    expect(out.spec.initContainers).toEqual([]);
    expect(out.spec.containers.map((c) => [c.name, c.image])).toEqual([
      ['istio-proxy', 'docker.io/istio/proxyv2:1.25.2'],
    ]);
    const proxy = out.spec.containers[0]!;
    expect((proxy.args as string[]).slice(0, 2)).toEqual(['proxy', 'router']);
    // the chart's own fields stay: the template is merged into its container by name
    expect(proxy.securityContext).toEqual({ runAsUser: 1337 });
    const status = JSON.parse(out.metadata.annotations['sidecar.istio.io/status'] ?? '{}') as Record<string, unknown>;
    expect(status).toMatchObject({ initContainers: null, containers: ['istio-proxy'], revision: '1-25-2' });
    expect(out.metadata.labels).toMatchObject({
      'istio.io/rev': '1-25-2',
      'service.istio.io/canonical-name': 'istio-ingressgateway',
      'service.istio.io/canonical-revision': 'latest',
    });
    expect(out.metadata.labels['security.istio.io/tlsMode']).toBeUndefined();
    // a second pass (an injected pod) changes nothing
    expect(diffPatch(out, injectSidecar(out, { revision: '1-24-5', version: '1.24.5' }))).toEqual([]);
  });

  it("keeps the pod's own istio.io/rev label (a tag) and adds the proxy beside a gateway's other containers", () => {
    const pod = {
      metadata: {
        name: 'shop-istio-0',
        labels: { 'istio.io/rev': 'prod', 'gateway.networking.k8s.io/gateway-name': 'shop' },
        annotations: { 'inject.istio.io/templates': 'gateway' },
      },
      spec: { containers: [{ name: 'app', image: 'example/app:1' }] },
    };
    const out = injectSidecar(pod, { revision: '1-24-5', version: '1.24.5' });
    expect(out.metadata.labels['istio.io/rev']).toBe('prod');
    expect(out.spec.containers.map((c) => c.name)).toEqual(['app', 'istio-proxy']);
    expect(out.metadata.annotations['kubectl.kubernetes.io/default-container']).toBe('app');
  });
});
