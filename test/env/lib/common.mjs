// Shared helpers of the test environment: where things live, free ports, detached processes, waiting.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const envRoot = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const repoRoot = path.resolve(envRoot, '..', '..');

/** Directory holding env.json, logs and data of the running environment. */
export function stateDir() {
  return process.env.MESHWAVE_ENV_DIR || path.join(os.homedir(), '.cache', 'meshwave', 'run');
}

/** Directory holding built binaries and downloaded jars, one subdirectory per `<component>-<version>`. */
export function cacheDir() {
  return process.env.MESHWAVE_CACHE_DIR || path.join(os.homedir(), '.cache', 'meshwave');
}

export function envFile() {
  return path.join(stateDir(), 'env.json');
}

export function log(...args) {
  process.stderr.write(`[env ${new Date().toISOString().slice(11, 19)}] ${args.join(' ')}\n`);
}

/** A port that was free on 127.0.0.1 a moment ago (the kernel picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export async function freePorts(n) {
  const ports = new Set();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls `check` until it resolves truthy or `timeoutMs` passes. `check` may throw; the last error is
 * reported in the timeout message. `alive` lets a dead process end the wait early.
 */
export async function waitFor(what, check, { timeoutMs = 60_000, intervalMs = 250, alive } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastErr;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (alive && !alive()) throw new Error(`${what}: process exited (see its log)`);
    if (Date.now() > deadline) {
      throw new Error(`${what}: not ready after ${timeoutMs} ms${lastErr ? `: ${lastErr.message}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

export function pidAlive(pid) {
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
export function startDetached(cmd, args, { logFile, cwd, env } = {}) {
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
export async function stopPid(pid, { graceMs = 10_000 } = {}) {
  if (!pidAlive(pid)) return;
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
export function run(cmd, args, { cwd, env, input, quiet = true } = {}) {
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
export function runAsync(cmd, args, { cwd, env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}\n${out}`)),
    );
  });
}

/** Runs a command with its output passed through to our stderr (for long builds). */
export function runVisible(cmd, args, { cwd, env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 2, 2] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`))));
  });
}

export function which(bin) {
  const r = spawnSync('bash', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Opens a TCP connection, writes `request`, resolves with the bytes until `complete(buf)` says so. */
export function tcpRequest(port, request, complete, timeoutMs = 3000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`127.0.0.1:${port}: no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('connect', () => sock.write(request));
    sock.on('data', (d) => {
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

export function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

export function writeFileAtomic(file, data) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

/** True when every port can be bound on 127.0.0.1 right now. */
export async function portsFree(ports) {
  for (const p of ports) {
    const ok = await new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (!ok) return false;
  }
  return true;
}
