// Given the test environment, helm is the one built from test/env/go/helm at the version pinned there.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadHelmEnv } from '../../support/env.ts';

describe('helm (built from its Go module)', () => {
  it('is in env.json and reports the version pinned in test/env/go/helm/go.mod', () => {
    const helm = loadHelmEnv();
    const goMod = readFileSync(fileURLToPath(new URL('../go/helm/go.mod', import.meta.url)), 'utf8');
    const pinned = /^\s*helm\.sh\/helm\/v4\s+(v\S+)/m.exec(goMod)?.[1];
    expect(pinned).toMatch(/^v4\./);
    expect(helm.version).toBe(pinned);
    const reported = execFileSync(helm.bin, ['version', '--template', '{{ .Version }}'], { encoding: 'utf8' });
    expect(reported.trim()).toBe(pinned);
  });
});
