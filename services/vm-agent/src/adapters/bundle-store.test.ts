import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { VmAgentErrorCode } from '../errors.js';
import { BundleStore, MAX_BUNDLE_READ_BYTES, readSizeFor, type BundleUnpacker } from './bundle-store.js';

/** A local bundle is read in reads sized to the file (issue 15), and copied and verified as before. */

let workDir: string | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  if (workDir !== undefined) await fs.rm(workDir, { recursive: true, force: true });
  workDir = undefined;
});

/** An "archive" of `bytes` random bytes, and an unpacker that keeps what it was handed. */
async function setUp(bytes: number) {
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mw-bundle-store-'));
  const content = randomBytes(bytes);
  const url = path.join(workDir, 'bundle.tar.gz');
  await fs.writeFile(url, content);
  const unpacked: Buffer[] = [];
  const unpack: BundleUnpacker = async (archive, into) => {
    unpacked.push(await fs.readFile(archive));
    await fs.mkdir(path.join(into, 'bin'), { recursive: true });
  };
  const store = new BundleStore(path.join(workDir, 'host'), { downloadTimeoutMs: 1000, now: () => 0, unpack });
  await store.init();
  const sha256 = createHash('sha256').update(content).digest('hex');
  return { store, content, url, sha256, unpacked };
}

/** The sizes of the buffers Node allocates for reads while `run` runs. */
async function readBuffersDuring(run: () => Promise<unknown>): Promise<number[]> {
  const sizes: number[] = [];
  const original = Buffer.allocUnsafeSlow.bind(Buffer);
  vi.spyOn(Buffer, 'allocUnsafeSlow').mockImplementation((size: number) => {
    sizes.push(size);
    return original(size);
  });
  await run();
  vi.restoreAllMocks();
  return sizes;
}

describe('BundleStore: a local bundle is read in reads sized to it', () => {
  it('asks for the whole file when it is under the default, never more than the default, never nothing', () => {
    expect(readSizeFor(300)).toBe(300);
    expect(readSizeFor(0)).toBe(1);
    expect(readSizeFor(MAX_BUNDLE_READ_BYTES)).toBe(MAX_BUNDLE_READ_BYTES);
    expect(readSizeFor(10 * MAX_BUNDLE_READ_BYTES)).toBe(MAX_BUNDLE_READ_BYTES);
  });

  it('Given a bundle of 300 bytes, When it is installed, Then no read buffer larger than the file is allocated', async () => {
    const { store, url, sha256, content, unpacked } = await setUp(300);
    const sizes = await readBuffersDuring(() =>
      store.install('1-25-2', { url, sha256, configDigest: 'c1' }, [], () => {}),
    );
    expect(sizes.filter((n) => n > 300)).toEqual([]);
    expect(unpacked.map((b) => b.equals(content))).toEqual([true]);
  });

  it.each([0, 1, 300, MAX_BUNDLE_READ_BYTES - 1, MAX_BUNDLE_READ_BYTES, MAX_BUNDLE_READ_BYTES + 1, 300_000])(
    'Given a bundle of %i bytes, When it is installed from a path and from a file URL, Then the copy is the bundle',
    async (bytes) => {
      const { store, url, sha256, content, unpacked } = await setUp(bytes);
      await store.install('1-25-2', { url, sha256, configDigest: 'c1' }, [], () => {});
      await store.install('1-25-3', { url: `file://${url}`, sha256, configDigest: 'c1' }, [], () => {});
      // compared as bytes (a deep equality of large buffers is slow)
      expect(unpacked.map((b) => b.equals(content))).toEqual([true, true]);
    },
  );

  it('Given a bundle whose checksum differs, When it is installed, Then CHECKSUM_MISMATCH as before', async () => {
    const { store, url } = await setUp(300);
    await expect(
      store.install('1-25-2', { url, sha256: '0'.repeat(64), configDigest: 'c1' }, [], () => {}),
    ).rejects.toMatchObject({
      code: VmAgentErrorCode.ChecksumMismatch,
    });
  });

  it('Given no file at the path, When it is installed, Then DOWNLOAD_FAILED (retryable) as before', async () => {
    const { store, url, sha256 } = await setUp(1);
    await expect(
      store.install('1-25-2', { url: `${url}.gone`, sha256, configDigest: 'c1' }, [], () => {}),
    ).rejects.toMatchObject({
      code: VmAgentErrorCode.DownloadFailed,
      retryable: true,
    });
  });
});
