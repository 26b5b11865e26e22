import { PatchStrategy } from '@kubernetes/client-node';
import { CONTROL_PLANE_NAMESPACE } from '@meshwave/contracts';
import { meshConfigMapName } from '@meshwave/istio';
import type { MeshConfigPort } from '../ports/mesh-config-port.js';
import type { ApiCaller } from './kubernetes-http.js';

interface ConfigMapObject {
  readonly metadata?: { readonly resourceVersion?: string };
  readonly data?: Readonly<Record<string, string>>;
}

const configMap = (revision: string): string =>
  `/api/v1/namespaces/${CONTROL_PLANE_NAMESPACE}/configmaps/${encodeURIComponent(meshConfigMapName(revision))}`;

/** A revision's mesh config on the apiserver (the chart grants get and patch on ConfigMaps in istio-system). */
export function meshConfigOperations({ call, getOrUndefined }: ApiCaller): MeshConfigPort {
  return {
    async readMeshConfig(revision) {
      const cm = await getOrUndefined<ConfigMapObject>('get', configMap(revision));
      if (cm === undefined) return undefined;
      return { text: cm.data?.['mesh'], resourceVersion: cm.metadata?.resourceVersion ?? '' };
    },
    async writeMeshConfig(revision, text, resourceVersion) {
      const body = { metadata: { resourceVersion }, data: { mesh: text } };
      await call('patch', 'PATCH', configMap(revision), body, PatchStrategy.MergePatch);
    },
  };
}
