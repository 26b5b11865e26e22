// Shared helpers of the test environment: where things live, detached processes, commands, raw TCP. Free ports,
// waiting and certificates are test/support's, shared with the tests.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const envRoot = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const repoRoot = path.resolve(envRoot, '..', '..');

/** Directory holding env.json, logs and data of the running environment. */
export function stateDir(): string {
  return process.env.MESHWAVE_ENV_DIR || path.join(os.homedir(), '.cache', 'meshwave', 'run');
}

/**
 * A server's data directory, created when missing. `empty` removes what an earlier run left: `up` starts a
 * server it does not reuse from nothing (a benchmark's million series or thousands of topics must not slow the
 * next start); a drill's restart keeps the data, since recovering it is what the drill tests.
 */
export function dataDirectory(dir: string, { empty }: { empty: boolean }): string {
  if (empty) fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Directory holding built binaries and downloaded jars, one subdirectory per `<component>-<version>`. */
export function cacheDir(): string {
  return process.env.MESHWAVE_CACHE_DIR || path.join(os.homedir(), '.cache', 'meshwave');
}

export function envFile(): string {
  return path.join(stateDir(), 'env.json');
}

export function log(...args: string[]): void {
  process.stderr.write(`[env ${new Date().toISOString().slice(11, 19)}] ${args.join(' ')}\n`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** What `status` says of one server. */
export interface ServerStatus {
  readonly healthy: boolean;
  readonly reason?: string;
  readonly pid?: number;
  readonly alive?: boolean;
  readonly [detail: string]: unknown;
}

/** The status of a server we started: its process alive and `healthy` answering yes, plus `details`. */
export async function serverStatus<S extends { readonly pid: number }>(
  state: S | undefined,
  healthy: (state: S) => Promise<boolean>,
  details: (state: S) => Record<string, unknown>,
): Promise<ServerStatus> {
  if (!state) return { healthy: false, reason: 'not started' };
  const alive = pidAlive(state.pid);
  return {
    healthy: alive && (await healthy(state).catch(() => false)),
    pid: state.pid,
    alive,
    ...details(state),
  };
}

export function pidAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // a zombie still answers kill(0); treat it as dead
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z';
  } catch {
    return true;
  }
}

/**
 * Starts a long-running server detached from us (own session, output to `logFile`), so it outlives this
 * script. Returns its pid.
 */
export function startDetached(
  cmd: string,
  args: readonly string[],
  { logFile, cwd, env }: { logFile: string; cwd?: string; env?: NodeJS.ProcessEnv },
): number {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const out = fs.openSync(logFile, 'a');
  fs.writeSync(out, `\n=== ${new Date().toISOString()} ${cmd} ${args.join(' ')}\n`);
  const child = spawn(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  child.unref();
  if (!child.pid) throw new Error(`cannot start ${cmd}`);
  return child.pid;
}

/** Stops a process we started (SIGTERM, then SIGKILL after `graceMs`). Resolves when it is gone. */
export async function stopPid(pid: number | undefined, { graceMs = 10_000 } = {}): Promise<void> {
  if (pid === undefined || !pidAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (pidAlive(pid) && Date.now() < deadline) await sleep(100);
  if (pidAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    while (pidAlive(pid)) await sleep(50);
  }
}

/** Runs a command to completion; throws with its output when it fails. */
export function run(
  cmd: string,
  args: readonly string[],
  { cwd, env, input, quiet = true }: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; quiet?: boolean } = {},
): string {
  const r = spawnSync(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    input,
    encoding: 'utf8',
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  }
  if (!quiet && r.stderr) process.stderr.write(r.stderr);
  return r.stdout;
}

/** Like run(), without blocking the event loop (so other components start meanwhile). */
export function runAsync(
  cmd: string,
  args: readonly string[],
  { cwd, env }: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}\n${out}`)),
    );
  });
}

/** Runs a command with its output passed through to our stderr (for long builds). */
export function runVisible(
  cmd: string,
  args: readonly string[],
  { cwd, env }: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 2, 2] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`))));
  });
}

export function which(bin: string): string | null {
  const r = spawnSync('bash', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Opens a TCP connection, writes `request`, resolves with the bytes until `complete(buf)` says so. */
export function tcpRequest(
  port: number,
  request: string | Buffer,
  complete: (buf: Buffer) => boolean,
  timeoutMs = 3000,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`127.0.0.1:${port}: no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('connect', () => sock.write(request));
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (complete(buf)) {
        clearTimeout(timer);
        sock.destroy();
        resolve(buf);
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`127.0.0.1:${port}: closed`));
    });
  });
}

export function readJson(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

export function writeFileAtomic(file: string, data: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}
