import { describe, expect, it } from 'vitest';
import { controlPlaneOf, revisionTagOf } from './control-planes.js';

const istiod = {
  namespace: 'istio-system',
  kind: 'Deployment',
  labels: { app: 'istiod', 'istio.io/rev': '1-25-2' },
  images: { discovery: 'docker.io/istio/pilot:1.25.2-distroless' },
  availableReplicas: 2,
};

describe('controlPlaneOf', () => {
  it('reads revision, version and readiness of an istiod', () => {
    expect(controlPlaneOf(istiod)).toEqual({ revision: '1-25-2', version: '1.25.2-distroless', ready: true });
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
