import fs from 'node:fs/promises';
import path from 'node:path';
import type { BundleRef } from '@meshwave/contracts';
import type { Clock } from '@meshwave/reconcile';
import {
  BundleStore,
  JournalPhase,
  immediateHostFiles,
  untar,
  writeJournal,
  type BundleUnpacker,
  type HostFiles,
  type InstalledVersion,
} from '@meshwave/vm-agent';

/** One entry of a directory tree to copy, relative to its root; directories come before what they hold. */
interface TreeEntry {
  readonly path: string;
  readonly kind: 'dir' | 'file' | 'symlink';
  /** the symlink's target */
  readonly target?: string;
}

/** The entries of `root`, listed once: every host copies the same few files. */
async function listTree(root: string, under = ''): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  for (const d of await fs.readdir(path.join(root, under), { withFileTypes: true })) {
    const rel = path.join(under, d.name);
    if (d.isDirectory()) out.push({ path: rel, kind: 'dir' }, ...(await listTree(root, rel)));
    else if (d.isSymbolicLink())
      out.push({ path: rel, kind: 'symlink', target: await fs.readlink(path.join(root, rel)) });
    else if (d.isFile()) out.push({ path: rel, kind: 'file' });
  }
  return out;
}

/**
 * Copies a listed tree into `into` (created if missing): one mkdir per directory, one copyFile per file (mode
 * kept), one symlink per link. `fs.cp` checked every parent of both paths for every host, and 500 hosts of a
 * batch did that at once (issue 15).
 */
async function copyTree(from: string, entries: readonly TreeEntry[], into: string, files: HostFiles): Promise<void> {
  await files.mkdir(into, { recursive: true });
  for (const e of entries) {
    const to = path.join(into, e.path);
    if (e.kind === 'dir') await files.mkdir(to);
    else if (e.kind === 'file') await files.copyFile(path.join(from, e.path), to);
    else await files.symlink(e.target!, to);
  }
}

/** A version unpacked once, in its own agent directory, to copy from. */
interface Template {
  readonly store: BundleStore;
  readonly installed: InstalledVersion;
  /** the installed version's directory, listed */
  readonly entries: readonly TreeEntry[];
}

/**
 * Provisions simulated hosts as a machine image would ship them: `version` installed and running. Each version's
 * bundle is downloaded, checked and unpacked once (the agent's real install, one `tar`), then copied into each
 * host's directory in process: thousands of hosts cost no process each.
 */
export class HostProvisioner {
  private readonly templates = new Map<string, Promise<Template>>();
  /** each bundle (by sha256) unpacked once, to copy from: its directory and its entries */
  private readonly archives = new Map<string, Promise<{ dir: string; entries: TreeEntry[] }>>();

  constructor(
    private readonly workDir: string,
    private readonly resolve: (version: string) => BundleRef | undefined,
    private readonly clock: Clock,
    /** how a bundle is unpacked the once it is (the agent's own `tar`) */
    private readonly unpackOnce: BundleUnpacker = untar,
    /** the simulated hosts' disk: answered without a turn of the event loop (see `immediateHostFiles`) */
    private readonly files: HostFiles = immediateHostFiles,
  ) {}

  /** how many bundles were unpacked so far (one per version, however many hosts) */
  get unpacked(): number {
    return this.templates.size;
  }

  /**
   * The simulated hosts' unpacker: a bundle (verified by its sha256 before it gets here) is unpacked with `tar`
   * once, then copied into each host's staging directory in process (on the hosts' disk, `files`); a thousand
   * hosts moving cost one `tar`.
   */
  readonly unpack: BundleUnpacker = async (archive, into, sha256) => {
    let unpacked = this.archives.get(sha256);
    if (unpacked === undefined) {
      const dir = path.join(this.workDir, 'unpacked', sha256);
      unpacked = fs.mkdir(dir, { recursive: true }).then(async () => {
        await this.unpackOnce(archive, dir, sha256);
        return { dir, entries: await listTree(dir) };
      });
      this.archives.set(sha256, unpacked);
      // a failed unpack is tried again by the next host
      unpacked.catch(() => this.archives.delete(sha256));
    }
    const { dir, entries } = await unpacked;
    await copyTree(dir, entries, into, this.files);
  };

  async provision(stateDir: string, version: string): Promise<void> {
    const template = await this.templateOf(version);
    const store = this.storeAt(stateDir);
    await this.files.mkdir(stateDir, { recursive: true });
    await store.init();
    const from = template.store.dirOf(template.installed);
    await copyTree(from, template.entries, store.dirOf(template.installed), this.files);
    await store.switchTo(template.installed);
    await writeJournal(
      path.join(stateDir, 'journal.json'),
      { phase: JournalPhase.Idle, running: template.installed },
      this.files,
    );
  }

  private templateOf(version: string): Promise<Template> {
    let template = this.templates.get(version);
    if (template === undefined) {
      template = this.install(version);
      this.templates.set(version, template);
    }
    return template;
  }

  private async install(version: string): Promise<Template> {
    const bundle = this.resolve(version);
    if (bundle === undefined) throw new Error(`no bundle for ${version}`);
    const store = this.storeAt(path.join(this.workDir, 'templates', version));
    await fs.mkdir(store.root, { recursive: true });
    await store.init();
    const installed = await store.install(version, bundle, [], () => undefined);
    return { store, installed, entries: await listTree(store.dirOf(installed)) };
  }

  private storeAt(dir: string): BundleStore {
    return new BundleStore(dir, { downloadTimeoutMs: 60_000, now: () => this.clock.now(), files: this.files });
  }
}
