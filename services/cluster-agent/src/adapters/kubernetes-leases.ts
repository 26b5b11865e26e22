import type { KubernetesPort, LeaseSpec, LeaseView } from '../ports/kubernetes-port.js';
import type { ApiCaller } from './kubernetes-http.js';
import type { RawObject } from './kubernetes-views.js';

function toLeaseView(o: RawObject): LeaseView {
  const spec = (o.spec ?? {}) as {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
  return {
    namespace: o.metadata?.namespace ?? '',
    name: o.metadata?.name ?? '',
    holderIdentity: spec.holderIdentity ?? '',
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    acquireTime: spec.acquireTime ?? '',
    renewTime: spec.renewTime ?? '',
    leaseTransitions: spec.leaseTransitions ?? 0,
    resourceVersion: o.metadata?.resourceVersion ?? '',
  };
}

const leaseBody = (l: LeaseSpec & { resourceVersion?: string }): Record<string, unknown> => ({
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: {
    name: l.name,
    namespace: l.namespace,
    ...(l.resourceVersion ? { resourceVersion: l.resourceVersion } : {}),
  },
  spec: {
    holderIdentity: l.holderIdentity,
    leaseDurationSeconds: l.leaseDurationSeconds,
    acquireTime: l.acquireTime,
    renewTime: l.renewTime,
    leaseTransitions: l.leaseTransitions,
  },
});

/** The port's Lease calls (coordination.k8s.io/v1), used by leader election. */
export function leaseOperations(api: ApiCaller): Pick<KubernetesPort, 'getLease' | 'createLease' | 'replaceLease'> {
  const { call, getOrUndefined } = api;
  return {
    async getLease(namespace, name) {
      const o = await getOrUndefined<RawObject>(
        'get',
        `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases/${encodeURIComponent(name)}`,
      );
      return o ? toLeaseView(o) : undefined;
    },
    async createLease(lease) {
      return toLeaseView(
        await call<RawObject>(
          'create',
          'POST',
          `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(lease.namespace)}/leases`,
          leaseBody(lease),
        ),
      );
    },
    async replaceLease(lease) {
      return toLeaseView(
        await call<RawObject>(
          'update',
          'PUT',
          `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(lease.namespace)}/leases/${encodeURIComponent(lease.name)}`,
          leaseBody(lease),
        ),
      );
    },
  };
}
