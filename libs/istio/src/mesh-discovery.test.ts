import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { withDiscoverySelectors } from './mesh-discovery.js';

const selectors = [{ matchLabels: { 'meshwave.io/mesh': 'mesh-a' } }];

describe('a revision mesh config with discoverySelectors', () => {
  it('Given a mesh config with other settings, When the selectors are set, Then they are written and the rest kept; set again, nothing changes', () => {
    const text = '# by istioctl\naccessLogFile: /dev/stdout\ndefaultConfig:\n  discoveryAddress: istiod-a:15012\n';
    const set = withDiscoverySelectors(text, selectors);
    expect(set.changed).toBe(true);
    expect(parse(set.text)).toEqual({
      accessLogFile: '/dev/stdout',
      defaultConfig: { discoveryAddress: 'istiod-a:15012' },
      discoverySelectors: selectors,
    });
    expect(set.text).toContain('# by istioctl');
    expect(withDiscoverySelectors(set.text, selectors)).toEqual({ text: set.text, changed: false });
  });

  it('Given an empty mesh config or other selectors, When the selectors are set, Then they replace what was there', () => {
    expect(parse(withDiscoverySelectors(undefined, selectors).text)).toEqual({ discoverySelectors: selectors });
    const other = 'discoverySelectors:\n- matchLabels: {team: x}\n';
    expect(parse(withDiscoverySelectors(other, selectors).text)).toEqual({ discoverySelectors: selectors });
    expect(() => withDiscoverySelectors('a: [', selectors)).toThrow(/not YAML/);
  });
});
