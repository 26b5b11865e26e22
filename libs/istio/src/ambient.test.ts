import { describe, expect, it } from 'vitest';
import {
  isAmbientNamespace,
  nodeAgentOf,
  nodeAgentRevisionOf,
  nodeAgentVersionOf,
  nodePoolOf,
  waypointForOf,
  type NodeAgentCandidate,
} from './ambient.js';

const newDaemonSet = (over: Partial<NodeAgentCandidate> = {}): NodeAgentCandidate => ({
  kind: 'DaemonSet',
  labels: {},
  templateLabels: {},
  templateAnnotations: {},
  ...over,
});

// As Istio's charts render them: ztunnel's revision is an annotation, istio-cni's a label.
const ztunnel = newDaemonSet({
  labels: { 'app.kubernetes.io/name': 'ztunnel', 'app.kubernetes.io/version': '1.25.2' },
  annotations: { 'istio.io/rev': '1-25-2' },
  templateLabels: { app: 'ztunnel', 'app.kubernetes.io/name': 'ztunnel', 'istio.io/dataplane-mode': 'none' },
  templateAnnotations: { 'istio.io/rev': '1-25-2', 'sidecar.istio.io/inject': 'false' },
  images: { 'istio-proxy': 'docker.io/istio/ztunnel:1.25.2-distroless' },
});
const istioCni = newDaemonSet({
  labels: { 'k8s-app': 'istio-cni-node', 'istio.io/rev': 'default', 'app.kubernetes.io/version': '1.24.5' },
  templateLabels: { 'k8s-app': 'istio-cni-node', 'app.kubernetes.io/name': 'istio-cni' },
  images: { 'install-cni': 'docker.io/istio/install-cni:1.24.5' },
});

describe('ambient recognition', () => {
  it('knows the ztunnel and istio-cni DaemonSets of Istio charts, and nothing else', () => {
    expect(nodeAgentOf(ztunnel)).toBe('ztunnel');
    expect(nodeAgentOf(istioCni)).toBe('istio-cni');
    expect(nodeAgentOf(newDaemonSet({ templateLabels: { app: 'fluentd' } }))).toBeUndefined();
    expect(nodeAgentOf({ ...ztunnel, kind: 'Deployment' })).toBeUndefined();
  });

  it("reads ztunnel's revision from its annotation and istio-cni's from its label", () => {
    expect(nodeAgentRevisionOf(ztunnel)).toBe('1-25-2');
    expect(nodeAgentRevisionOf(istioCni)).toBe('default');
    expect(nodeAgentRevisionOf(newDaemonSet())).toBeNull();
  });

  it('reads the version from the image tag without its variant, else from the chart label', () => {
    expect(nodeAgentVersionOf('ztunnel', ztunnel.images, ztunnel.labels)).toBe('1.25.2');
    expect(nodeAgentVersionOf('istio-cni', istioCni.images, istioCni.labels)).toBe('1.24.5');
    expect(
      nodeAgentVersionOf(
        'ztunnel',
        { 'istio-proxy': 'istio/ztunnel@sha256:abc' },
        { 'app.kubernetes.io/version': '1.25.1' },
      ),
    ).toBe('1.25.1');
    expect(nodeAgentVersionOf('ztunnel', undefined, {})).toBeNull();
  });

  it('tells ambient namespaces, node pools and waypoints', () => {
    expect(isAmbientNamespace({ 'istio.io/dataplane-mode': 'ambient' })).toBe(true);
    expect(isAmbientNamespace({ 'istio.io/dataplane-mode': 'none' })).toBe(false);
    expect(isAmbientNamespace(undefined)).toBe(false);
    expect(
      nodePoolOf({ 'karpenter.sh/nodepool': 'b', 'meshwave.io/node-pool': 'c' }, [
        'x',
        'karpenter.sh/nodepool',
        'meshwave.io/node-pool',
      ]),
    ).toBe('b');
    expect(nodePoolOf({}, ['x'])).toBeUndefined();
    expect(waypointForOf({ 'istio.io/waypoint-for': 'service' })).toBe('service');
    expect(waypointForOf({ 'istio.io/waypoint-for': '' })).toBeUndefined();
  });
});
