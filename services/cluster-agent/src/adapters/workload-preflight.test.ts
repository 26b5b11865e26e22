import { describe, expect, it } from 'vitest';
import { workloadPreflightOf } from './workload-preflight.js';

describe('workloadPreflightOf', () => {
  it('reads probes, rollout switches, the injection opt-out and the proxy config of a pod template', () => {
    expect(
      workloadPreflightOf({
        paused: true,
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } },
        template: {
          metadata: {
            labels: { 'sidecar.istio.io/inject': 'false' },
            annotations: {
              'proxy.istio.io/config': 'holdApplicationUntilProxyStarts: true\nterminationDrainDuration: 1m30s\n',
            },
          },
          spec: {
            terminationGracePeriodSeconds: 120,
            containers: [{ name: 'app', readinessProbe: {} }, { name: 'istio-proxy' }],
          },
        },
      }),
    ).toEqual({
      readinessProbe: true,
      paused: true,
      onDelete: false,
      partition: 2,
      injectionDisabled: true,
      holdUntilProxyStarts: true,
      appShutdownSeconds: 120,
      proxyDrainSeconds: 90,
    });
  });

  it('reads a bare template as unprobed, not holding, with Istio defaults for drain and shutdown', () => {
    expect(
      workloadPreflightOf({
        updateStrategy: { type: 'OnDelete' },
        template: { spec: { containers: [{ name: 'app' }] } },
      }),
    ).toEqual({
      readinessProbe: false,
      paused: false,
      onDelete: true,
      partition: 0,
      injectionDisabled: false,
      holdUntilProxyStarts: false,
    });
  });
});
