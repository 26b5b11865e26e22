import { describe, expect, it } from 'vitest';
import { meshOfDiscoverySelectors, withDiscoverySelectors } from './mesh-discovery.js';

const LABEL = 'meshwave.io/mesh';

describe('the mesh a control plane serves, from its discoverySelectors (ADR 0056)', () => {
  it('reads the mesh `meshwave split --apply` writes, other settings and selectors aside', () => {
    const written = withDiscoverySelectors('accessLogFile: /dev/stdout\n', [
      { matchLabels: { [LABEL]: 'mesh-a' } },
      { matchLabels: { 'kubernetes.io/metadata.name': 'istio-system' } },
    ]).text;
    expect(meshOfDiscoverySelectors(written, LABEL)).toBe('mesh-a');
    expect(
      meshOfDiscoverySelectors(
        `discoverySelectors:\n  - matchExpressions:\n      - { key: ${LABEL}, operator: In, values: [mesh-b] }\n`,
        LABEL,
      ),
    ).toBe('mesh-b');
  });

  it('says nothing for a control plane discovering every mesh, several meshes, or a config that is not YAML', () => {
    expect(meshOfDiscoverySelectors(undefined, LABEL)).toBeUndefined();
    expect(meshOfDiscoverySelectors('accessLogFile: /dev/stdout\n', LABEL)).toBeUndefined();
    expect(meshOfDiscoverySelectors('discoverySelectors:\n  - matchLabels: { team: shop }\n', LABEL)).toBeUndefined();
    const two = `discoverySelectors:\n  - matchLabels: { ${LABEL}: mesh-a }\n  - matchLabels: { ${LABEL}: mesh-b }\n`;
    expect(meshOfDiscoverySelectors(two, LABEL)).toBeUndefined();
    expect(meshOfDiscoverySelectors('discoverySelectors: [\n', LABEL)).toBeUndefined();
  });
});
