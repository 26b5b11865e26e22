import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { nodeHostFiles, type HostFiles } from './host-files.js';

/**
 * Writes `content` to `file` so that a crash at any instant leaves either the old or the new content:
 * write a temporary file in the same directory, fsync it, rename it over the target, fsync the directory.
 */
export async function writeFileAtomic(
  file: string,
  content: string | Uint8Array,
  mode = 0o644,
  fs: HostFiles = nodeHostFiles,
): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fs.open(tmp, 'w', mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
  await fsyncDir(dir, fs);
}

/** Points the symlink `link` at `target` atomically (a new link renamed over the old one). */
export async function replaceSymlink(link: string, target: string, fs: HostFiles = nodeHostFiles): Promise<void> {
  const tmp = `${link}.${randomBytes(6).toString('hex')}.tmp`;
  await fs.symlink(target, tmp);
  await fs.rename(tmp, link);
  await fsyncDir(path.dirname(link), fs);
}

export async function fsyncDir(dir: string, fs: HostFiles = nodeHostFiles): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function exists(p: string, fs: HostFiles = nodeHostFiles): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}
