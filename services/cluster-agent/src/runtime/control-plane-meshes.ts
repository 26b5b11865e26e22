import { MESH_LABEL } from '@meshwave/contracts';
import { meshOfDiscoverySelectors } from '@meshwave/istio';
import { ClusterAgentError, ClusterAgentErrorCode } from '../errors.js';
import type { MeshConfigPort } from '../ports/mesh-config-port.js';
import type { IstioInstallation } from '../ports/kubernetes-port.js';

/**
 * The installation with the mesh each control plane serves (ADR 0056), read from its revision's mesh config (the
 * `discoverySelectors` an applied split wrote, ADR 0049). Without the mesh-config port, or where it may not read
 * one (the chart's `meshSplit` grants that), or the revision has no mesh config, the control plane says no mesh:
 * the planner then checks nothing mesh-wise for it. Any other failure fails the read, as a failed list does.
 */
export async function withControlPlaneMeshes(
  installation: IstioInstallation | undefined,
  meshConfig: MeshConfigPort | undefined,
): Promise<IstioInstallation | undefined> {
  if (installation === undefined || meshConfig === undefined) return installation;
  const controlPlanes = await Promise.all(
    installation.controlPlanes.map(async (p) => {
      const read = await meshConfig.readMeshConfig(p.revision).catch((error: unknown) => {
        if (isForbidden(error)) return undefined;
        throw error;
      });
      const mesh = meshOfDiscoverySelectors(read?.text, MESH_LABEL);
      return mesh === undefined ? p : { ...p, mesh };
    }),
  );
  return { ...installation, controlPlanes };
}

const isForbidden = (err: unknown): boolean =>
  err instanceof ClusterAgentError && err.code === ClusterAgentErrorCode.Forbidden;
