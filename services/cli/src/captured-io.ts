import type { CommandIo } from './io.js';

/** A `CommandIo` in memory, for tests and embedding: what a command wrote, and the files it may read. */
export interface CapturedIo extends CommandIo {
  readonly out: string[];
  readonly err: string[];
}

/** Files not in `files` are missing (ENOENT); HOME points nowhere, so no config file is read by accident. */
export function newCapturedIo(
  files: Readonly<Record<string, string>> = {},
  env: Readonly<Record<string, string>> = {},
): CapturedIo {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    readFile: (path) =>
      path in files
        ? Promise.resolve(files[path]!)
        : Promise.reject(Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' })),
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    env: { HOME: '/nonexistent', ...env },
  };
}
