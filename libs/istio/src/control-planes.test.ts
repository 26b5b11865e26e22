import { describe, expect, it } from 'vitest';
import { controlPlaneNotReady, controlPlaneOf, injectorRevisionOf, revisionTagOf } from './control-planes.js';

const istiod = {
  namespace: 'istio-system',
  kind: 'Deployment',
  labels: { app: 'istiod', 'istio.io/rev': '1-25-2' },
  images: { discovery: 'docker.io/istio/pilot:1.25.2-distroless' },
  availableReplicas: 2,
};

describe('controlPlaneOf', () => {
  it('reads revision, version and readiness of an istiod', () => {
    expect(controlPlaneOf(istiod)).toEqual({
      revision: '1-25-2',
      version: '1.25.2-distroless',
      ready: true,
      hub: 'docker.io/istio',
    });
    expect(controlPlaneOf({ ...istiod, availableReplicas: 0 })?.ready).toBe(false);
    expect(controlPlaneOf({ ...istiod, labels: { app: 'istiod' } })?.revision).toBe('default');
    expect(controlPlaneOf({ ...istiod, images: { discovery: 'istio/pilot@sha256:abc' } })?.version).toBeNull();
  });

  it('is not fooled by a gateway, another namespace or kind', () => {
    expect(controlPlaneOf({ ...istiod, labels: { app: 'istio-ingressgateway', 'istio.io/rev': '1-25-2' } })).toBe(
      undefined,
    );
    expect(controlPlaneOf({ ...istiod, namespace: 'shop' })).toBeUndefined();
    expect(controlPlaneOf({ ...istiod, kind: 'StatefulSet' })).toBeUndefined();
  });
});

describe('revisionTagOf', () => {
  it('reads a tag webhook as istioctl writes it, and nothing else', () => {
    const labels = { 'istio.io/tag': 'prod-stable', 'istio.io/rev': '1-24-5' };
    expect(revisionTagOf({ name: 'istio-revision-tag-prod-stable', labels })).toEqual({
      tag: 'prod-stable',
      revision: '1-24-5',
    });
    expect(revisionTagOf({ name: 'istio-sidecar-injector-1-24-5', labels: { 'istio.io/rev': '1-24-5' } })).toBe(
      undefined,
    );
    expect(revisionTagOf({ name: 'something-else', labels })).toBeUndefined();
  });
});

describe('injectorRevisionOf and controlPlaneNotReady', () => {
  it("reads a revision's own injection webhook, not a tag's", () => {
    expect(injectorRevisionOf({ name: 'istio-sidecar-injector-1-25-2', labels: { 'istio.io/rev': '1-25-2' } })).toBe(
      '1-25-2',
    );
    expect(injectorRevisionOf({ name: 'istio-sidecar-injector', labels: {} })).toBe('default');
    expect(
      injectorRevisionOf({
        name: 'istio-revision-tag-prod',
        labels: { 'istio.io/tag': 'prod', 'istio.io/rev': '1-25-2' },
      }),
    ).toBeUndefined();
  });

  it('says why a revision cannot take pods: no istiod, none ready, no webhook', () => {
    const plane = { revision: '1-25-2', version: '1.25.2', ready: true };
    expect(controlPlaneNotReady({ controlPlanes: [plane], injectors: ['1-25-2'] }, '1-25-2')).toBeUndefined();
    expect(controlPlaneNotReady({ controlPlanes: [], injectors: ['1-25-2'] }, '1-25-2')).toContain('no istiod');
    expect(
      controlPlaneNotReady({ controlPlanes: [{ ...plane, ready: false }], injectors: ['1-25-2'] }, '1-25-2'),
    ).toContain('no available replica');
    expect(controlPlaneNotReady({ controlPlanes: [plane], injectors: [] }, '1-25-2')).toContain('webhook');
  });
});
