import { describe, expect, it } from 'vitest';
import { nextGatewayApiAction, type GatewayApiStepTarget } from './gateway-api-step.js';
import type { GatewaySide } from './gateway-step.js';
import type { WorkloadView } from '../ports/kubernetes-port.js';

const target: GatewayApiStepTarget = { namespace: 'edge', name: 'web-istio', gatewayName: 'web', revision: '1-25-2' };

const side = (ready: number, live: number, settled = true): GatewaySide => ({
  view: { replicas: 2, generation: 3, observedGeneration: settled ? 3 : 2 } as WorkloadView,
  readyPods: ready,
  livePods: live,
});

describe('a Gateway API gateway step (ADR 0050)', () => {
  it('Given the Gateway on the old revision, Then its istio.io/rev label moves first', () => {
    expect(nextGatewayApiAction(target, '1-24-5', side(2, 2))).toEqual({
      kind: 'relabel-gateway',
      revision: '1-25-2',
    });
    expect(nextGatewayApiAction(target, null, side(2, 2))).toMatchObject({ kind: 'relabel-gateway' });
  });

  it('Given the Gateway relabelled, Then it waits for istiod to restart every pod onto the revision, old pods gone', () => {
    expect(nextGatewayApiAction(target, '1-25-2', side(1, 3))).toMatchObject({ kind: 'wait' });
    expect(nextGatewayApiAction(target, '1-25-2', side(2, 2, false))).toMatchObject({ kind: 'wait' });
    expect(nextGatewayApiAction(target, '1-25-2', side(2, 2))).toEqual({ kind: 'converged' });
  });

  it('Given no Gateway of that name, Then the step fails saying so', () => {
    expect(nextGatewayApiAction(target, undefined, side(2, 2))).toEqual({
      kind: 'failed',
      reason: 'Gateway edge/web not found',
    });
  });

  it('Given a Gateway pinned before the tag moved (ADR 0056), Then at 100% it is labelled with the tag again and judged on the revision', () => {
    const pinned = { ...target, label: 'prod' };
    expect(nextGatewayApiAction(pinned, '1-24-5', side(2, 2))).toEqual({ kind: 'relabel-gateway', revision: 'prod' });
    expect(nextGatewayApiAction(pinned, 'prod', side(1, 2))).toMatchObject({ kind: 'wait' });
    expect(nextGatewayApiAction(pinned, 'prod', side(2, 2))).toEqual({ kind: 'converged' });
  });
});
