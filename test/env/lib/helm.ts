// helm for the chart tests, built from its Go module (test/env/go/helm) as the Kubernetes binaries are, and
// cached under the build cache keyed by the version pinned there.
import fs from 'node:fs';
import path from 'node:path';
import { cacheDir, envRoot, log, runVisible, which } from './common.ts';
import type { HelmState } from '../../support/env-state.ts';
import { goModVersion } from './kube-binaries.ts';

/** `{ bin, version }` of helm; builds it when missing (cold: 10+ minutes on 2 cores, then cached). */
export async function ensureHelm(): Promise<HelmState> {
  const version = goModVersion('helm', 'helm.sh/helm/v4');
  const dir = path.join(cacheDir(), `helm-${version}`);
  if (!fs.existsSync(path.join(dir, '.complete'))) {
    if (!which('go')) throw new Error('building helm needs Go (1.25+) on PATH');
    log(`building helm ${version} (cold build, several minutes; cached under ${cacheDir()})`);
    await runVisible('bash', [path.join(envRoot, 'build-go.sh'), 'helm']);
  }
  return { bin: path.join(dir, 'helm'), version };
}
