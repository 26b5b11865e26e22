import { describe, expect, it } from 'vitest';
import type { WorkloadView } from '../ports/kubernetes-port.js';
import {
  canaryCopyBody,
  nextGatewayAction,
  type GatewaySide,
  type GatewayStepAction,
  type GatewayStepTarget,
} from './gateway-step.js';
import { observeUnit } from './unit-observation.js';
import { newDeploymentView } from './command-fixtures.js';

const TO = '1-25-2';

const newView = (name: string, replicas: number, labels: Record<string, string> = {}): WorkloadView =>
  newDeploymentView({ name, replicas, labels });

/** A cluster where each write takes effect and every wanted pod is ready before the next pass. */
class InstantCluster {
  gateway: number | undefined;
  copy: number | undefined;
  readonly writes: GatewayStepAction[] = [];
  total = 0;

  constructor(replicas: number) {
    this.gateway = replicas;
  }

  side(which: 'gateway' | 'copy'): GatewaySide | undefined {
    const n = this[which];
    if (n === undefined) return undefined;
    const labels: Record<string, string> =
      which === 'copy' ? { 'meshwave.io/gateway-replicas': String(this.total) } : {};
    return { view: newView(which, n, labels), readyPods: n, livePods: n };
  }

  /** runs passes to the step's end; the replicas (gateway, copy) after it */
  step(percent: number, removeOld = false): [number | undefined, number | undefined] {
    const target: GatewayStepTarget = { namespace: 'istio-ingress', name: 'ingress', revision: TO, percent, removeOld };
    for (let pass = 0; pass < 20; pass++) {
      const a = nextGatewayAction(target, this.side('gateway'), this.side('copy'));
      if (a.kind === 'converged') return [this.gateway, this.copy];
      if (a.kind === 'failed' || a.kind === 'wait') throw new Error(`unexpected ${JSON.stringify(a)}`);
      this.writes.push(a);
      if (a.kind === 'create-copy') [this.copy, this.total] = [a.replicas, a.total];
      else if (a.kind === 'scale') this[a.which] = a.replicas;
      else this[a.which] = undefined;
    }
    throw new Error('no convergence in 20 passes');
  }
}

describe("a gateway's canary steps (ADR 0047)", () => {
  it('moves 10% → 50% → 100% of 10 replicas, grows the new side before shrinking the old, then removes the old', () => {
    const c = new InstantCluster(10);
    expect([c.step(10), c.step(50), c.step(100), c.step(100, true)]).toEqual([
      [9, 1],
      [5, 5],
      [0, 10],
      [undefined, 10],
    ]);
    expect(c.writes).toEqual([
      { kind: 'create-copy', name: `ingress-${TO}`, replicas: 1, total: 10 },
      { kind: 'scale', which: 'gateway', replicas: 9 },
      { kind: 'scale', which: 'copy', replicas: 5 },
      { kind: 'scale', which: 'gateway', replicas: 5 },
      { kind: 'scale', which: 'copy', replicas: 10 },
      { kind: 'scale', which: 'gateway', replicas: 0 },
      { kind: 'delete', which: 'gateway' },
    ]);
  });

  it('fails back step by step: the old side grows before the copy shrinks, and the copy goes at 0%', () => {
    const c = new InstantCluster(4);
    c.step(10);
    c.step(50);
    expect([c.step(10), c.step(0)]).toEqual([
      [3, 1],
      [4, undefined],
    ]);
    expect(c.writes.slice(-5)).toEqual([
      { kind: 'scale', which: 'gateway', replicas: 3 },
      { kind: 'scale', which: 'copy', replicas: 1 },
      { kind: 'scale', which: 'gateway', replicas: 4 },
      { kind: 'scale', which: 'copy', replicas: 0 },
      { kind: 'delete', which: 'copy' },
    ]);
    expect(c.step(0)).toEqual([4, undefined]);
  });

  it('keeps the total the canary began with, even once the old side is scaled down', () => {
    const c = new InstantCluster(10);
    c.step(50);
    expect(c.step(50)).toEqual([5, 5]);
  });

  it('waits for the copy to be ready on `to` before the old side shrinks', () => {
    const target = { namespace: 'istio-ingress', name: 'ingress', revision: TO, percent: 50, removeOld: false };
    const gateway = { view: newView('ingress', 4), readyPods: 4, livePods: 4 };
    const copy = {
      view: newView(`ingress-${TO}`, 2, { 'meshwave.io/gateway-replicas': '4' }),
      readyPods: 1,
      livePods: 2,
    };
    expect(nextGatewayAction(target, gateway, copy)).toEqual({ kind: 'wait', reason: `copy 1/2 ready on ${TO}` });
  });

  it('cannot fail back a gateway whose old Deployment was removed, and says why', () => {
    const copy = {
      view: newView(`ingress-${TO}`, 4, { 'meshwave.io/gateway-replicas': '4' }),
      readyPods: 4,
      livePods: 4,
    };
    const target = { namespace: 'istio-ingress', name: 'ingress', revision: TO, percent: 50, removeOld: false };
    expect(nextGatewayAction(target, undefined, copy)).toEqual({
      kind: 'failed',
      reason: 'gateway ingress was removed at its last step: it cannot fail back',
    });
    expect(nextGatewayAction(target, undefined, undefined).kind).toBe('failed');
  });
});

describe('the canary copy of a gateway Deployment', () => {
  it('runs `to` behind the same selector labels, with a label of its own in its selector', () => {
    const body = canaryCopyBody(
      {
        metadata: {
          name: 'ingress',
          namespace: 'istio-ingress',
          labels: { app: 'ingress' },
          annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
          resourceVersion: '7',
          uid: 'u',
        },
        spec: {
          replicas: 4,
          selector: { matchLabels: { istio: 'ingressgateway' } },
          template: {
            metadata: { labels: { istio: 'ingressgateway', 'istio.io/rev': '1-24-5' } },
            spec: { containers: [] },
          },
        },
        status: { replicas: 4 },
      },
      { name: `ingress-${TO}`, revision: TO, replicas: 1, total: 4 },
    );
    expect(body).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: `ingress-${TO}`,
        namespace: 'istio-ingress',
        labels: {
          app: 'ingress',
          'meshwave.io/gateway-canary-of': 'ingress',
          'meshwave.io/gateway-replicas': '4',
          'meshwave.io/gateway-revision': TO,
        },
      },
      spec: {
        replicas: 1,
        selector: { matchLabels: { istio: 'ingressgateway', 'meshwave.io/gateway-revision': TO } },
        template: {
          metadata: {
            labels: { istio: 'ingressgateway', 'istio.io/rev': TO, 'meshwave.io/gateway-revision': TO },
          },
          spec: { containers: [] },
        },
      },
    });
  });
});

describe('a namespace unit and the gateways of its namespace', () => {
  it('restarts the namespace’s workloads, never its gateways (they move by canary)', () => {
    const gateway = { ...newView('ingress', 2), namespace: 'shop' };
    const web = { ...newView('web', 2), namespace: 'shop', templateLabels: { app: 'web' }, selector: { app: 'web' } };
    const o = observeUnit({ namespace: 'shop', revision: TO }, undefined, [gateway, web], []);
    expect(o.workloads.map((w) => w.workload.name)).toEqual(['web']);
  });
});
