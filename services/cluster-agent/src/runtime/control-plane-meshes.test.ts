import { describe, expect, it } from 'vitest';
import { ClusterAgentError, ClusterAgentErrorCode } from '../errors.js';
import type { MeshConfigPort } from '../ports/mesh-config-port.js';
import type { IstioInstallation } from '../ports/kubernetes-port.js';
import { withControlPlaneMeshes } from './control-plane-meshes.js';

const installation: IstioInstallation = {
  controlPlanes: [
    { revision: 'mesh-a-1-25-2', version: '1.25.2', ready: true },
    { revision: '1-24-5', version: '1.24.5', ready: true },
    { revision: 'locked', version: '1.25.2', ready: true },
  ],
  tags: {},
  injectors: [],
};

const meshConfig = (texts: Record<string, string | 'forbidden'>): MeshConfigPort => ({
  readMeshConfig: async (revision) => {
    const text = texts[revision];
    if (text === 'forbidden')
      throw new ClusterAgentError(ClusterAgentErrorCode.Forbidden, 'configmaps "istio-locked" is forbidden');
    return text === undefined ? undefined : { text, resourceVersion: '1' };
  },
  writeMeshConfig: async () => undefined,
});

describe('the mesh each control plane serves, in the inventory (ADR 0056)', () => {
  it('Given mesh configs as an applied split writes them, Then each control plane says its mesh; one discovering every namespace, unreadable or without a config says none', async () => {
    const read = await withControlPlaneMeshes(
      installation,
      meshConfig({
        'mesh-a-1-25-2': 'discoverySelectors:\n  - matchLabels: { meshwave.io/mesh: mesh-a }\n',
        '1-24-5': 'accessLogFile: /dev/stdout\n',
        locked: 'forbidden',
      }),
    );
    expect(read?.controlPlanes.map((p) => [p.revision, p.mesh])).toEqual([
      ['mesh-a-1-25-2', 'mesh-a'],
      ['1-24-5', undefined],
      ['locked', undefined],
    ]);
  });

  it('Given an agent without the mesh-config port, Then the installation is reported as read', async () => {
    expect(await withControlPlaneMeshes(installation, undefined)).toBe(installation);
  });
});
