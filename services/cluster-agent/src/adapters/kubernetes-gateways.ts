import { PatchStrategy } from '@kubernetes/client-node';
import { IstioLabel } from '@meshwave/istio';
import { PINNED_TAG_ANNOTATION } from '@meshwave/contracts';
import { ClusterAgentError, ClusterAgentErrorCode } from '../errors.js';
import type { DeploymentObject } from '../core/gateway-step.js';
import type { GatewayDeploymentPort } from '../ports/gateway-port.js';
import type { ApiCaller } from './kubernetes-http.js';

const deployments = (namespace: string): string =>
  `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/deployments`;
const deployment = (namespace: string, name: string): string => `${deployments(namespace)}/${encodeURIComponent(name)}`;

const gatewayApi = (namespace: string, name: string): string =>
  `/apis/gateway.networking.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/gateways/${encodeURIComponent(name)}`;

const isCode = (err: unknown, code: ClusterAgentErrorCode): boolean =>
  err instanceof ClusterAgentError && err.code === code;

/** The gateway canary's writes on the apiserver: each idempotent, so a step re-run writes nothing twice. */
export function gatewayOperations({ call, getOrUndefined }: ApiCaller): GatewayDeploymentPort {
  return {
    readDeployment: (namespace, name) => getOrUndefined<DeploymentObject>('get', deployment(namespace, name)),

    async createDeployment(namespace, body) {
      try {
        await call('create', 'POST', deployments(namespace), body);
        return 'created';
      } catch (err) {
        if (isCode(err, ClusterAgentErrorCode.Conflict)) return 'exists';
        throw err;
      }
    },

    async scaleDeployment(namespace, name, replicas) {
      await call('patch', 'PATCH', deployment(namespace, name), { spec: { replicas } }, PatchStrategy.MergePatch);
    },

    async deleteDeployment(namespace, name) {
      try {
        await call('delete', 'DELETE', deployment(namespace, name), { propagationPolicy: 'Background' });
        return 'deleted';
      } catch (err) {
        if (isCode(err, ClusterAgentErrorCode.NotFound)) return 'absent';
        throw err;
      }
    },

    async readGateway(namespace, name) {
      const gateway = await getOrUndefined<{
        metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
      }>('get', gatewayApi(namespace, name));
      if (gateway === undefined) return undefined;
      return {
        revision: gateway.metadata?.labels?.[IstioLabel.Revision] ?? null,
        pinnedTag: gateway.metadata?.annotations?.[PINNED_TAG_ANNOTATION] ?? null,
      };
    },

    async setGatewayRevision(namespace, name, revision, pinnedTag) {
      const body = {
        metadata: {
          labels: { [IstioLabel.Revision]: revision },
          ...(pinnedTag !== undefined ? { annotations: { [PINNED_TAG_ANNOTATION]: pinnedTag } } : {}),
        },
      };
      await call('patch', 'PATCH', gatewayApi(namespace, name), body, PatchStrategy.MergePatch);
    },
  };
}
