import { createHash } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  createReadStream,
  createWriteStream,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import fs from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** An open file of the host's disk: written whole, flushed to the disk, closed. */
export interface HostFileHandle {
  writeFile(content: string | Uint8Array): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The host's disk as the agent uses it (journal, bundles, the `current` link). `nodeHostFiles` is the agent's own:
 * every call goes through libuv's thread pool and its answer waits for a turn of the event loop, which is right for
 * one agent on its own machine. A simulator of thousands of hosts in one process (the embedded demo) passes
 * `immediateHostFiles`: the same calls on the same files, answered without waiting for a turn (issue 15).
 */
export interface HostFiles {
  open(file: string, flags: 'w' | 'r', mode?: number): Promise<HostFileHandle>;
  rename(from: string, to: string): Promise<void>;
  symlink(target: string, link: string): Promise<void>;
  /** rejects when nothing is at `file` (a dangling link is something) */
  lstat(file: string): Promise<unknown>;
  readFile(file: string): Promise<string>;
  mkdir(dir: string, options?: { readonly recursive?: boolean }): Promise<void>;
  rm(file: string, options?: { readonly recursive?: boolean; readonly force?: boolean }): Promise<void>;
  readdir(dir: string): Promise<string[]>;
  readlink(link: string): Promise<string>;
  /** copies `from` to `to`, its mode kept */
  copyFile(from: string, to: string): Promise<void>;
  /** copies `from` to `to`, returning the sha256 of what was copied */
  copyHashed(from: string, to: string): Promise<string>;
}

/** The most a local bundle is read at once: the stream's default. */
export const MAX_BUNDLE_READ_BYTES = 64 * 1024;

/**
 * How much of a local bundle of `size` bytes each read asks for: the whole file when it is smaller than the
 * stream's default (a read allocates what it asks for: 64 KiB per host for a bundle of a few hundred bytes was
 * most of the embedded fleet's VM phase, issue 15), never more than the default, never nothing (an empty file
 * still reads to its end).
 */
export const readSizeFor = (size: number): number => Math.min(MAX_BUNDLE_READ_BYTES, Math.max(1, size));

/** The agent's disk: node's asynchronous file system. */
export const nodeHostFiles: HostFiles = {
  open: (file, flags, mode) => fs.open(file, flags, mode),
  rename: (from, to) => fs.rename(from, to),
  symlink: (target, link) => fs.symlink(target, link),
  lstat: (file) => fs.lstat(file),
  readFile: (file) => fs.readFile(file, 'utf8'),
  mkdir: async (dir, options) => void (await fs.mkdir(dir, options)),
  rm: (file, options) => fs.rm(file, options),
  readdir: (dir) => fs.readdir(dir),
  readlink: (link) => fs.readlink(link),
  copyFile: (from, to) => fs.copyFile(from, to),
  copyHashed: async (from, to) => {
    const hash = createHash('sha256');
    const hasher = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    const { size } = await fs.stat(from);
    await pipeline(createReadStream(from, { highWaterMark: readSizeFor(size) }), hasher, createWriteStream(to));
    return hash.digest('hex');
  },
};

/** `fn`'s result as a promise, its throw as a rejection: a synchronous call behind the port's asynchronous shape. */
const now = <T>(fn: () => T): Promise<T> => {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error as Error);
  }
};

/**
 * The same disk operations (the same files, fsyncs included) made synchronously: each answer is there without a
 * turn of the event loop. For simulated hosts sharing one process with a busy simulated fleet, where a real host's
 * ~80 file steps per upgrade each waited a whole turn of that fleet's loop (a turn took ~1 s during fleet (b)'s last
 * wave: a 500-host batch took 91 s, issue 15). Files under `/dev/shm` make each call a few microseconds.
 */
export const immediateHostFiles: HostFiles = {
  open: (file, flags, mode) =>
    now(() => {
      const fd = openSync(file, flags, mode);
      return {
        writeFile: (content) => now(() => writeFileSync(fd, content)),
        sync: () => now(() => fsyncSync(fd)),
        close: () => now(() => closeSync(fd)),
      };
    }),
  rename: (from, to) => now(() => renameSync(from, to)),
  symlink: (target, link) => now(() => symlinkSync(target, link)),
  lstat: (file) => now(() => lstatSync(file)),
  readFile: (file) => now(() => readFileSync(file, 'utf8')),
  mkdir: (dir, options) => now(() => void mkdirSync(dir, options)),
  rm: (file, options) => now(() => rmSync(file, options)),
  readdir: (dir) => now(() => readdirSync(dir)),
  readlink: (link) => now(() => readlinkSync(link)),
  copyFile: (from, to) => now(() => copyFileSync(from, to)),
  copyHashed: (from, to) =>
    now(() => {
      const content = readFileSync(from);
      writeFileSync(to, content);
      return createHash('sha256').update(content).digest('hex');
    }),
};
