import { describe, expect, it } from 'vitest';
import { canaryCopyOf, gatewayOf, isWaypointDeployment, stepReplicas, type GatewayCandidate } from './gateways.js';

const newCandidate = (over: Partial<GatewayCandidate> = {}): GatewayCandidate => ({
  kind: 'Deployment',
  labels: {},
  templateLabels: {},
  templateAnnotations: {},
  ...over,
});

describe('gateway recognition', () => {
  it.each([
    ['the gateway injection template', { templateAnnotations: { 'inject.istio.io/templates': 'gateway' } }, 'injected'],
    [
      'a template list naming it',
      { templateAnnotations: { 'inject.istio.io/templates': 'sidecar, gateway' } },
      'injected',
    ],
    ['istio: ingressgateway on the pods', { templateLabels: { istio: 'ingressgateway' } }, 'injected'],
    ['istio: egressgateway on the Deployment', { labels: { istio: 'egressgateway' } }, 'injected'],
    ['a Gateway API gateway', { templateLabels: { 'gateway.networking.k8s.io/gateway-name': 'shop' } }, 'gateway-api'],
  ] as const)('recognises %s', (_, over, kind) => {
    expect(gatewayOf(newCandidate(over))?.kind).toBe(kind);
  });

  it('names the Gateway a Gateway API gateway serves', () => {
    expect(gatewayOf(newCandidate({ labels: { 'gateway.networking.k8s.io/gateway-name': 'shop' } }))).toEqual({
      kind: 'gateway-api',
      gatewayName: 'shop',
    });
  });

  it.each([
    ['an ordinary Deployment', newCandidate({ templateLabels: { app: 'web', istio: 'pilot' } })],
    ['the sidecar template', newCandidate({ templateAnnotations: { 'inject.istio.io/templates': 'sidecar' } })],
    [
      'a StatefulSet labelled like a gateway',
      newCandidate({ kind: 'StatefulSet', labels: { istio: 'ingressgateway' } }),
    ],
  ])('leaves %s a workload', (_, c) => {
    expect(gatewayOf(c)).toBeUndefined();
  });

  it('Given the Deployment istiod runs for a waypoint, Then it is a waypoint and no Gateway API gateway', () => {
    const waypoint = newCandidate({
      labels: { 'gateway.istio.io/managed': 'istio.io-mesh-controller' },
      templateLabels: {
        'gateway.networking.k8s.io/gateway-name': 'waypoint',
        'gateway.istio.io/managed': 'istio.io-mesh-controller',
      },
    });
    expect(gatewayOf(waypoint)).toBeUndefined();
    expect(isWaypointDeployment(waypoint)).toBe(true);
    const ingress = newCandidate({
      templateLabels: {
        'gateway.networking.k8s.io/gateway-name': 'shop',
        'gateway.istio.io/managed': 'istio.io-gateway-controller',
      },
    });
    expect(gatewayOf(ingress)).toEqual({ kind: 'gateway-api', gatewayName: 'shop' });
    expect(isWaypointDeployment(ingress)).toBe(false);
  });

  it('tells a canary copy by its label', () => {
    expect(canaryCopyOf({ 'meshwave.io/gateway-canary-of': 'ingress' })).toBe('ingress');
    expect(canaryCopyOf({})).toBeUndefined();
  });
});

describe('replicas per canary step', () => {
  it.each([
    [10, 0, { copy: 0, old: 10 }],
    [10, 10, { copy: 1, old: 9 }],
    [10, 50, { copy: 5, old: 5 }],
    [10, 100, { copy: 10, old: 0 }],
    [3, 10, { copy: 1, old: 2 }],
    [3, 50, { copy: 2, old: 1 }],
    // one replica: the copy's pod beside the old one until the last step, never all at once at 10%
    [1, 10, { copy: 1, old: 1 }],
    [1, 100, { copy: 1, old: 0 }],
  ])('%i replicas at %i%% → %o', (total, percent, expected) => {
    expect(stepReplicas(total, percent)).toEqual(expected);
  });
});
