import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { systemClock } from '@meshwave/reconcile';
import { BundleStore, readJournal } from '@meshwave/vm-agent';
import { afterEach, describe, expect, it } from 'vitest';
import { HostProvisioner } from './host-provisioner.js';

let workDir: string | undefined;
afterEach(async () => {
  if (workDir !== undefined) await fs.rm(workDir, { recursive: true, force: true });
  workDir = undefined;
});

/** One real bundle of `version` (the one `tar` of the test). */
async function newBundle(dir: string, version: string): Promise<{ url: string; sha256: string; configDigest: string }> {
  const src = path.join(dir, 'src');
  await fs.mkdir(path.join(src, 'bin'), { recursive: true });
  await fs.writeFile(path.join(src, 'bin', 'istio-proxy'), `#!/bin/sh\n# ${version}\n`, { mode: 0o755 });
  const url = path.join(dir, `${version}.tar.gz`);
  execFileSync('tar', ['-czf', url, '-C', src, '.']);
  const sha256 = createHash('sha256')
    .update(await fs.readFile(url))
    .digest('hex');
  return { url, sha256, configDigest: 'c1' };
}

describe('HostProvisioner', () => {
  it('Given 20 hosts on one version, When they are provisioned, Then the bundle is unpacked once and every host runs its own copy of it', async () => {
    workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mw-provisioner-'));
    const bundle = await newBundle(workDir, '1-24-5');
    const provisioner = new HostProvisioner(workDir, (v) => (v === '1-24-5' ? bundle : undefined), systemClock);

    const hosts = Array.from({ length: 20 }, (_, i) => path.join(workDir ?? '', 'hosts', `h${i}`));
    await Promise.all(hosts.map((dir) => provisioner.provision(dir, '1-24-5')));

    expect(provisioner.unpacked).toBe(1);
    for (const dir of hosts) {
      const store = new BundleStore(dir, { downloadTimeoutMs: 1000, now: () => 0 });
      const current = await store.current();
      expect(current).toEqual({ version: '1-24-5', sha256: bundle.sha256, dir: '1-24-5' });
      // a copy of its own, not a link into the template: the agent may prune or replace it
      expect((await fs.lstat(path.join(dir, 'versions', '1-24-5'))).isDirectory()).toBe(true);
      expect(await fs.readFile(path.join(dir, 'current', 'bin', 'istio-proxy'), 'utf8')).toContain('1-24-5');
      expect((await readJournal(path.join(dir, 'journal.json')))?.running).toEqual(current);
    }
  });
});
