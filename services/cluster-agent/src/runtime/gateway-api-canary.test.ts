import { WorkloadKind, type GatewayStepCommand } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { newDeploymentView } from '../core/command-fixtures.js';
import { newPodView } from '../core/pod-fixtures.js';
import type { GatewayRevisionView } from '../ports/gateway-port.js';
import type { GatewayCanaryPort } from './gateway-canary.js';
import { reconcileGatewayApiStep } from './gateway-api-canary.js';

const FROM = '1-24-5';
const TO = '1-25-2';
const TAG = 'prod-stable';
const SELECTOR = { 'gateway.networking.k8s.io/gateway-name': 'shop' };

/**
 * A Gateway API gateway `shop` whose istiod-run Deployment has 2 ready pods on `podsOn`, the tag naming `tagNames`;
 * records relabels (`revision`, and `-pin` when the pin annotation is removed).
 */
function newGatewayPort(
  gateway: GatewayRevisionView,
  podsOn: string,
  tagNames = TO,
): GatewayCanaryPort & { relabels: string[] } {
  const relabels: string[] = [];
  const view = newDeploymentView({
    namespace: 'edge',
    name: 'shop-istio',
    templateLabels: SELECTOR,
    selector: SELECTOR,
  });
  const pods = ['a', 'b'].map((n) =>
    newPodView({
      namespace: 'edge',
      name: `shop-${n}`,
      labels: SELECTOR,
      owner: { kind: 'ReplicaSet', name: 'shop-istio-1' },
      revision: podsOn,
    }),
  );
  return {
    relabels,
    getWorkload: (ref) => Promise.resolve(ref.kind === WorkloadKind.Deployment ? view : undefined),
    listPods: () => Promise.resolve(pods),
    readDeployment: () => Promise.resolve(undefined),
    createDeployment: () => Promise.resolve('exists'),
    scaleDeployment: () => Promise.resolve(),
    deleteDeployment: () => Promise.resolve('absent'),
    readGateway: () => Promise.resolve(gateway),
    setGatewayRevision: (_ns, _name, revision, pinnedTag) =>
      Promise.resolve(void relabels.push(pinnedTag === null ? `${revision} -pin` : revision)),
    revisionTagTarget: (tag) => Promise.resolve(tag === TAG ? tagNames : undefined),
  };
}

const failback = (percent: 0 | 100): GatewayStepCommand => ({
  namespace: 'edge',
  name: 'shop-istio',
  revision: TO,
  percent,
  removeOld: false,
  kind: 'gateway-api',
  tag: TAG,
});

describe('a Gateway API gateway step with a tag (ADR 0056, 0058)', () => {
  it('Given a failback that pointed the tag back and unpinned the Gateway, When its 0% step runs (again), Then the Gateway labelled with the tag is where it should be: converged, nothing written', async () => {
    const port = newGatewayPort({ revision: TAG, pinnedTag: null }, FROM);
    expect(await reconcileGatewayApiStep(port, failback(0), FROM)).toEqual({ kind: 'converged' });
    expect(port.relabels).toEqual([]);
  });

  it('Given a Gateway the 100% step labelled with the tag (still pinned), When the 0% step runs, Then it is labelled with `from`, the tag still naming `to`', async () => {
    const port = newGatewayPort({ revision: TAG, pinnedTag: TAG }, TO);
    expect(await reconcileGatewayApiStep(port, failback(0), FROM)).toEqual({
      kind: 'relabel-gateway',
      revision: FROM,
    });
    expect(port.relabels).toEqual([FROM]);
  });

  it('Given a pinned Gateway, When the 100% step runs, Then it is labelled with the tag again', async () => {
    const port = newGatewayPort({ revision: FROM, pinnedTag: TAG }, FROM);
    expect(await reconcileGatewayApiStep(port, failback(100), FROM)).toEqual({
      kind: 'relabel-gateway',
      revision: TAG,
    });
  });

  it('Given a Gateway pinned to `from`, When the 0% step runs after the tag went back to `from`, Then it is labelled with the tag again and unpinned (nothing restarts: same revision)', async () => {
    const port = newGatewayPort({ revision: FROM, pinnedTag: TAG }, FROM, FROM);
    expect(await reconcileGatewayApiStep(port, failback(0), FROM)).toEqual({ kind: 'relabel-gateway', revision: TAG });
    expect(port.relabels).toEqual([`${TAG} -pin`]);
  });

  it('Given a Gateway still labelled with the tag and pinned, When the tag went back to `from` before the 0% step ran, Then only its pin goes, and the step waits for its pods on `from`', async () => {
    const port = newGatewayPort({ revision: TAG, pinnedTag: TAG }, TO, FROM);
    expect(await reconcileGatewayApiStep(port, failback(0), FROM)).toMatchObject({ kind: 'wait' });
    expect(port.relabels).toEqual([`${TAG} -pin`]);
  });
});
