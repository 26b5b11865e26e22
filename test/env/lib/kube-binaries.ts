// The Kubernetes binaries of the test clusters: built from the Go modules pinned in test/env/go/ by
// test/env/build-go.sh and cached under the build cache as `<component>-<version>`, or taken from
// KUBEBUILDER_ASSETS when it holds them.
import fs from 'node:fs';
import path from 'node:path';
import { cacheDir, envRoot, log, runVisible, which } from './common.ts';

/** The version of `mod` pinned in test/env/go/<dir>/go.mod. */
export function goModVersion(dir: string, mod: string): string {
  const text = fs.readFileSync(path.join(envRoot, 'go', dir, 'go.mod'), 'utf8');
  const m = new RegExp(`^\\s*(?:require\\s+)?${mod.replace(/[./]/g, '\\$&')}\\s+(v[^\\s]+)`, 'm').exec(text);
  if (!m?.[1]) throw new Error(`${mod} not pinned in test/env/go/${dir}/go.mod`);
  return m[1];
}

export interface KubeVersions {
  readonly kubernetes: string;
  readonly etcd: string;
  readonly kwok: string;
}

export function pinnedVersions(): KubeVersions {
  return {
    kubernetes: goModVersion('kube', 'k8s.io/kubernetes'),
    etcd: goModVersion('etcd', 'go.etcd.io/etcd/server/v3'),
    kwok: goModVersion('kwok', 'sigs.k8s.io/kwok'),
  };
}

const BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] as const;
type BinaryName = (typeof BINARIES)[number];

/** Paths of the binaries, kwok's stage files, and the versions they were built from. */
export type KubeBinaries = Record<BinaryName, string> & { readonly stagesDir: string; readonly versions: KubeVersions };

/** The build-go.sh target building `name`. */
function buildTarget(name: BinaryName): string {
  return name === 'etcd' || name === 'kwok' ? name : 'kube';
}

/**
 * Paths of etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok; builds what is missing
 * (cold: several minutes on 2 cores, then cached).
 */
export async function ensureKubeBinaries(): Promise<KubeBinaries> {
  const v = pinnedVersions();
  const assets = process.env['KUBEBUILDER_ASSETS'];
  const fromAssets = (bin: string): string | null =>
    assets && fs.existsSync(path.join(assets, bin)) ? path.join(assets, bin) : null;
  const built: Record<BinaryName, string> = {
    etcd: path.join(cacheDir(), `etcd-${v.etcd}`, 'etcd'),
    'kube-apiserver': path.join(cacheDir(), `kube-${v.kubernetes}`, 'kube-apiserver'),
    'kube-controller-manager': path.join(cacheDir(), `kube-${v.kubernetes}`, 'kube-controller-manager'),
    'kube-scheduler': path.join(cacheDir(), `kube-${v.kubernetes}`, 'kube-scheduler'),
    kwok: path.join(cacheDir(), `kwok-${v.kwok}`, 'kwok'),
  };
  const bins = { ...built };
  const targets = new Set<string>();
  for (const name of BINARIES) {
    const asset = fromAssets(name);
    bins[name] = asset ?? built[name];
    const complete = fs.existsSync(path.join(path.dirname(built[name]), '.complete'));
    if (!asset && !complete) targets.add(buildTarget(name));
  }
  const stagesDir = path.join(cacheDir(), `kwok-${v.kwok}`, 'stages');
  if (!fs.existsSync(path.join(stagesDir, '.complete'))) targets.add('kwok');
  if (targets.size > 0) {
    if (!which('go'))
      throw new Error(`building ${[...targets].join(', ')} needs Go (1.25+) on PATH, or KUBEBUILDER_ASSETS`);
    log(`building ${[...targets].join(', ')} (cold build, several minutes; cached under ${cacheDir()})`);
    await runVisible('bash', [path.join(envRoot, 'build-go.sh'), ...targets]);
  }
  return { ...bins, stagesDir, versions: v };
}
