import {
  CONTROL_PLANE_NAMESPACE,
  meshDiscoverySelectors,
  type MeshIstioConfig,
  type NamespaceLabelPatch,
} from '@meshwave/contracts';
import { MESH_LABEL } from './mesh-names.js';

/**
 * The Istio side of one mesh: an IstioOperator for its own control-plane revision whose istiod only discovers
 * namespaces labelled `meshwave.io/mesh=<mesh>` (plus its own), and the label patches that put each namespace
 * into the mesh and onto its revision. `istio-injection` is removed because it would override `istio.io/rev`.
 */
export function istioConfigForMesh(mesh: string, revision: string, namespaces: readonly string[]): MeshIstioConfig {
  const istioOperator = {
    apiVersion: 'install.istio.io/v1alpha1',
    kind: 'IstioOperator',
    metadata: { name: revision, namespace: CONTROL_PLANE_NAMESPACE },
    spec: {
      revision,
      meshConfig: {
        discoverySelectors: meshDiscoverySelectors(mesh),
      },
    },
  };
  const namespaceLabelPatches: NamespaceLabelPatch[] = namespaces.map((namespace) => ({
    namespace,
    patchType: 'application/merge-patch+json',
    patch: { metadata: { labels: { [MESH_LABEL]: mesh, 'istio.io/rev': revision, 'istio-injection': null } } },
  }));
  return { mesh, revision, istioOperator, namespaceLabelPatches };
}
