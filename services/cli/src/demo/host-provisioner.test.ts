import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { systemClock } from '@meshwave/reconcile';
import { BundleStore, readJournal, untar, type BundleUnpacker } from '@meshwave/vm-agent';
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

  it('Given 10 hosts installing one new bundle through the provisioner, When they install it, Then it is unpacked once and each host has its own complete copy', async () => {
    workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mw-provisioner-'));
    const bundle = await newBundle(workDir, '1-25-2');
    let unpacks = 0;
    const counted: BundleUnpacker = async (archive, into, sha256) => {
      unpacks++;
      await untar(archive, into, sha256);
    };
    const provisioner = new HostProvisioner(workDir, () => undefined, systemClock, counted);
    const stores = Array.from(
      { length: 10 },
      (_, i) =>
        new BundleStore(path.join(workDir ?? '', 'hosts', `h${i}`), {
          downloadTimeoutMs: 1000,
          now: () => 0,
          unpack: provisioner.unpack,
        }),
    );
    for (const store of stores) await store.init();
    const installed = await Promise.all(stores.map((s) => s.install('1-25-2', bundle, [], () => undefined)));

    expect(unpacks).toBe(1);
    for (const [i, store] of stores.entries()) {
      expect(installed[i]).toEqual({ version: '1-25-2', sha256: bundle.sha256, dir: '1-25-2' });
      const proxy = path.join(store.dirOf(installed[i]!), 'bin', 'istio-proxy');
      expect(await fs.readFile(proxy, 'utf8')).toContain('1-25-2');
      expect((await fs.stat(proxy)).mode & 0o111).not.toBe(0);
    }
  });
});
