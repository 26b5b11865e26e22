import { IstioAnnotation, PROXY_CONTAINER } from '@meshwave/istio';
import type { PodView } from '../ports/kubernetes-port.js';

/**
 * A running, ready pod of namespace `shop` for tests; with `revision`, injected by it (status annotation and an
 * istio-proxy of the version the revision name spells).
 */
export function newPodView(over: Partial<PodView> & { readonly revision?: string } = {}): PodView {
  const { revision, ...rest } = over;
  return {
    namespace: 'shop',
    name: 'p',
    labels: {},
    annotations: revision ? { [IstioAnnotation.SidecarStatus]: JSON.stringify({ revision }) } : {},
    controlled: rest.owner !== undefined,
    containers: revision
      ? [{ name: PROXY_CONTAINER, image: `proxyv2:${revision.replaceAll('-', '.')}` }]
      : [{ name: 'app', image: 'app' }],
    phase: 'Running',
    ready: true,
    restarts: 0,
    crashLooping: false,
    terminating: false,
    resourceVersion: '1',
    ...rest,
  };
}
