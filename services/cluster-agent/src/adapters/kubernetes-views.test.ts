import { describe, expect, it } from 'vitest';
import { toIstioInstallation, type RawObject } from './kubernetes-views.js';

const deployment = (name: string, labels: Record<string, string>, image: string, available: number): RawObject => ({
  metadata: { name, namespace: 'istio-system', labels },
  spec: { replicas: 1, template: { spec: { containers: [{ name: 'discovery', image }] } } },
  status: { availableReplicas: available },
});

describe('toIstioInstallation', () => {
  it('reads istiods as control planes and tag webhooks as tags, leaving gateways and revision webhooks out', () => {
    const installation = toIstioInstallation(
      [
        deployment('istiod-1-25-2', { app: 'istiod', 'istio.io/rev': '1-25-2' }, 'docker.io/istio/pilot:1.25.2', 0),
        deployment('istiod-1-24-5', { app: 'istiod', 'istio.io/rev': '1-24-5' }, 'docker.io/istio/pilot:1.24.5', 2),
        deployment('istio-ingressgateway', { app: 'istio-ingressgateway', 'istio.io/rev': '1-24-5' }, 'x:1.24.5', 1),
      ],
      [
        { metadata: { name: 'istio-sidecar-injector-1-24-5', labels: { 'istio.io/rev': '1-24-5' } } },
        {
          metadata: {
            name: 'istio-revision-tag-prod-stable',
            labels: { 'istio.io/tag': 'prod-stable', 'istio.io/rev': '1-24-5' },
          },
        },
      ],
    );
    expect(installation).toEqual({
      controlPlanes: [
        { revision: '1-24-5', version: '1.24.5', ready: true, hub: 'docker.io/istio' },
        { revision: '1-25-2', version: '1.25.2', ready: false, hub: 'docker.io/istio' },
      ],
      tags: { 'prod-stable': '1-24-5' },
      injectors: ['1-24-5'],
    });
  });
});
