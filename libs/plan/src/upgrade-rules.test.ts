import { describe, expect, it } from 'vitest';
import { parseIstioVersion, upgradePathVerdict, versionSkewVerdict, type UpgradeMethod } from './upgrade-rules.js';

const v = (text: string) => {
  const parsed = parseIstioVersion(text);
  if (!parsed) throw new Error(`not a version: ${text}`);
  return parsed;
};

describe('upgrade paths (Istio canary and in-place upgrade pages)', () => {
  it.each<[string, string, UpgradeMethod, boolean]>([
    ['1.24.5', '1.24.6', 'revision', true],
    ['1.24.5', '1.25.2', 'revision', true],
    ['1.24.5', '1.26.0', 'revision', true],
    ['1.24.5', '1.27.0', 'revision', false],
    ['1.24.5', '1.30.1', 'revision', false],
    ['1.26.0', '1.24.5', 'revision', true],
    ['1.27.0', '1.24.5', 'revision', false],
    ['1.24.5', '2.0.0', 'revision', false],
    ['1.24.5', '1.25.0', 'in-place', true],
    ['1.24.5', '1.26.0', 'in-place', false],
    ['1.25.0', '1.24.5', 'in-place', true],
    ['1.26.0', '1.24.5', 'in-place', false],
    ['1.25.2-distroless', '1.27.1', 'revision', true],
  ])('%s → %s (%s): supported %s', (from, to, method, supported) => {
    const verdict = upgradePathVerdict(v(from), v(to), method);
    expect(verdict.supported).toBe(supported);
    if (!verdict.supported) expect(verdict.why).toContain(`${from} → ${to}`);
  });
});

describe('control plane / data plane skew (Istio supported-releases page)', () => {
  it.each<[string, string, boolean]>([
    ['1.25.2', '1.25.2', true],
    ['1.25.9', '1.25.2', true],
    ['1.24.5', '1.25.2', true],
    ['1.23.0', '1.25.2', false],
    ['1.26.0', '1.25.2', false],
    ['2.0.0', '1.25.2', false],
  ])('proxies %s with control plane %s: supported %s', (dataPlane, controlPlane, supported) => {
    expect(versionSkewVerdict(v(dataPlane), v(controlPlane)).supported).toBe(supported);
  });
});

describe('parseIstioVersion', () => {
  it.each([
    ['1.25.2', { major: 1, minor: 25, patch: 2 }],
    ['v1.26.0', { major: 1, minor: 26, patch: 0 }],
    ['1.27.0-rc.1', { major: 1, minor: 27, patch: 0 }],
  ])('reads %s', (text, parts) => expect(parseIstioVersion(text)).toMatchObject({ ...parts, text }));

  it.each(['latest', '1.25', 'sha256:abc', '', null, undefined])('knows no version in %s', (text) =>
    expect(parseIstioVersion(text)).toBeUndefined(),
  );
});
