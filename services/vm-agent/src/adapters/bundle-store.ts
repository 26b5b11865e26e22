import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { VmAgentError, VmAgentErrorCode } from '../errors.js';
import type { BundleRef } from '@meshwave/contracts';
import { exists, replaceSymlink, writeFileAtomic } from './atomic-file.js';
import { nodeHostFiles, type HostFiles } from './host-files.js';
import type { InstalledVersion } from './agent-journal.js';

const execFileAsync = promisify(execFile);

/**
 * Unpacks a verified bundle archive into an empty directory. The agent's own is `tar` (`untar`); the embedded
 * demo, which runs a thousand agents in one process, unpacks each bundle once and copies it (ADR 0024's sibling:
 * no process per host).
 */
export type BundleUnpacker = (archive: string, into: string, sha256: string) => Promise<void>;

/** The agent's unpacker: `tar -xzf` (never restoring owners: the agent is not root). */
export const untar: BundleUnpacker = async (archive, into) => {
  await execFileAsync('tar', ['-xzf', archive, '-C', into, '--no-same-owner']);
};

export { MAX_BUNDLE_READ_BYTES, readSizeFor, type HostFiles } from './host-files.js';

/** Written last into an unpacked version: a directory without it is not a complete install. */
export const BUNDLE_MARKER = '.meshwave-bundle.json';

export interface BundleMarker {
  readonly version: string;
  readonly sha256: string;
  readonly configDigest: string;
  readonly installedAt: string;
}

/**
 * The agent's directory: `versions/<version>/` (unpacked bundles), `current` (symlink to the running
 * version), `tmp/` (downloads and staging, emptied at start). A bundle is a `.tar.gz` whose root holds
 * `bin/istio-proxy` and the proxy's configuration, so that switching `current` switches both at once.
 */
export class BundleStore {
  readonly versionsDir: string;
  readonly currentLink: string;
  readonly tmpDir: string;
  private readonly fs: HostFiles;

  constructor(
    readonly root: string,
    private readonly options: {
      readonly downloadTimeoutMs: number;
      readonly now: () => number;
      /** default `untar` */
      readonly unpack?: BundleUnpacker;
      /** default `nodeHostFiles` */
      readonly files?: HostFiles;
    },
  ) {
    this.fs = options.files ?? nodeHostFiles;
    this.versionsDir = path.join(root, 'versions');
    this.currentLink = path.join(root, 'current');
    this.tmpDir = path.join(root, 'tmp');
  }

  async init(): Promise<void> {
    await this.fs.mkdir(this.versionsDir, { recursive: true });
    // Whatever is in tmp/ was cut short by a kill: partial downloads and unpacks are never used.
    await this.fs.rm(this.tmpDir, { recursive: true, force: true });
    await this.fs.mkdir(this.tmpDir, { recursive: true });
    for (const name of await this.fs.readdir(this.root)) {
      if (/^current\..+\.tmp$/.test(name)) await this.fs.rm(path.join(this.root, name), { force: true });
    }
  }

  dirOf(v: InstalledVersion): string {
    return path.join(this.versionsDir, v.dir);
  }

  /** The installed version `current` points at, read from its marker; null when there is none. */
  async current(): Promise<InstalledVersion | null> {
    try {
      const target = await this.fs.readlink(this.currentLink);
      const dir = path.basename(target);
      const marker = await this.marker(dir);
      return marker === undefined ? null : { version: marker.version, sha256: marker.sha256, dir };
    } catch {
      return null;
    }
  }

  async marker(dir: string): Promise<BundleMarker | undefined> {
    try {
      return JSON.parse(await this.fs.readFile(path.join(this.versionsDir, dir, BUNDLE_MARKER))) as BundleMarker;
    } catch {
      return undefined;
    }
  }

  /**
   * Downloads, verifies and unpacks `bundle` into `versions/`, unless that exact bundle is already there.
   * A checksum mismatch throws `CHECKSUM_MISMATCH` and leaves nothing behind. `onStep` is called after
   * each step (fault injection in tests).
   */
  async install(
    version: string,
    bundle: BundleRef,
    protect: readonly string[],
    onStep: (step: 'downloaded' | 'unpacked') => void,
  ): Promise<InstalledVersion> {
    for (const dir of [version, `${version}~${bundle.sha256.slice(0, 12)}`]) {
      const m = await this.marker(dir);
      if (m?.sha256 === bundle.sha256 && m.version === version) return { version, sha256: bundle.sha256, dir };
    }
    const id = randomBytes(6).toString('hex');
    const archive = path.join(this.tmpDir, `${version}.${id}.tar.gz`);
    try {
      const actual = await this.download(bundle.url, archive);
      if (actual !== bundle.sha256) {
        throw new VmAgentError(
          VmAgentErrorCode.ChecksumMismatch,
          `bundle for ${version} has sha256 ${actual}, expected ${bundle.sha256}`,
          {
            context: { version, url: bundle.url, expected: bundle.sha256, actual },
          },
        );
      }
      onStep('downloaded');
      const staging = path.join(this.tmpDir, `stage-${version}.${id}`);
      await this.fs.mkdir(staging);
      try {
        await (this.options.unpack ?? untar)(archive, staging, bundle.sha256);
      } catch (error) {
        throw new VmAgentError(VmAgentErrorCode.UnpackFailed, `cannot unpack the bundle for ${version}`, {
          cause: error,
          context: { version },
        });
      }
      const marker: BundleMarker = {
        version,
        sha256: bundle.sha256,
        configDigest: bundle.configDigest,
        installedAt: new Date(this.options.now()).toISOString(),
      };
      await writeFileAtomic(path.join(staging, BUNDLE_MARKER), `${JSON.stringify(marker)}\n`, undefined, this.fs);
      // Another bundle under the same version name that is in use keeps its directory; this one gets its own.
      let dir = version;
      const occupied = await this.marker(dir);
      if (occupied !== undefined || (await exists(path.join(this.versionsDir, dir), this.fs))) {
        if (protect.includes(dir)) dir = `${version}~${bundle.sha256.slice(0, 12)}`;
        await this.fs.rm(path.join(this.versionsDir, dir), { recursive: true, force: true });
      }
      await this.fs.rename(staging, path.join(this.versionsDir, dir));
      onStep('unpacked');
      return { version, sha256: bundle.sha256, dir };
    } finally {
      await this.fs.rm(archive, { force: true });
    }
  }

  /** Points `current` at `v` (atomic rename of a new link). */
  async switchTo(v: InstalledVersion | null): Promise<void> {
    if (v === null) {
      await this.fs.rm(this.currentLink, { force: true });
      return;
    }
    await replaceSymlink(this.currentLink, path.join('versions', v.dir), this.fs);
  }

  /** Removes all but the `keep` most recently installed versions, never one listed in `protect`. */
  async prune(keep: number, protect: readonly string[]): Promise<string[]> {
    const entries: { dir: string; at: string }[] = [];
    for (const dir of await this.fs.readdir(this.versionsDir)) {
      const m = await this.marker(dir);
      entries.push({ dir, at: m?.installedAt ?? '' });
    }
    entries.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
    const removed: string[] = [];
    for (const [i, e] of entries.entries()) {
      if (i < keep || protect.includes(e.dir)) continue;
      await this.fs.rm(path.join(this.versionsDir, e.dir), { recursive: true, force: true });
      removed.push(e.dir);
    }
    return removed;
  }

  /** Copies `url` (http(s), file:// or a local path) to `file`, returning the sha256 of what was copied. */
  private async download(url: string, file: string): Promise<string> {
    const hash = createHash('sha256');
    const hasher = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    try {
      if (/^https?:\/\//.test(url)) {
        const response = await fetch(url, { signal: AbortSignal.timeout(this.options.downloadTimeoutMs) });
        if (!response.ok || response.body === null) throw new Error(`HTTP ${response.status}`);
        await pipeline(Readable.fromWeb(response.body), hasher, createWriteStream(file));
      } else {
        return await this.fs.copyHashed(url.startsWith('file://') ? fileURLToPath(url) : url, file);
      }
    } catch (error) {
      throw new VmAgentError(
        VmAgentErrorCode.DownloadFailed,
        `cannot download ${url}: ${error instanceof Error ? error.message : String(error)}`,
        {
          cause: error,
          retryable: true,
          context: { url },
        },
      );
    }
    return hash.digest('hex');
  }
}
