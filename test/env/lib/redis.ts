// Redis from Debian's redis-server, run as our own process (not the system service) with AOF on.
import fs from 'node:fs';
import path from 'node:path';
import type { RedisState } from '../../support/env-state.ts';
import { eventually } from '../../support/eventually.ts';
import { freePort, portsFree } from '../../support/ports.ts';
import {
  dataDirectory,
  log,
  pidAlive,
  run,
  serverStatus,
  startDetached,
  stateDir,
  stopPid,
  tcpRequest,
  which,
  type ServerStatus,
} from './common.ts';

export function ensureRedisServer(): string {
  let bin = which('redis-server');
  if (bin) return bin;
  if (process.getuid?.() !== 0) {
    throw new Error('redis-server is missing: install Debian package redis-server (apt-get install -y redis-server)');
  }
  log('installing redis-server with apt-get');
  run('apt-get', ['update', '-qq']);
  run('apt-get', ['install', '-y', '-qq', 'redis-server'], { env: { DEBIAN_FRONTEND: 'noninteractive' } });
  // Debian may start its system service on install; we leave it alone and never use it.
  bin = which('redis-server');
  if (!bin) throw new Error('redis-server still missing after apt-get install');
  return bin;
}

export async function redisHealthy(port: number): Promise<boolean> {
  const res = await tcpRequest(port, '*1\r\n$4\r\nPING\r\n', (b) => b.includes('\r\n'));
  return res.toString().startsWith('+PONG');
}

function redisConf({ port, dataDir }: { port: number; dataDir: string }): string {
  return `# written by test/env/lib/redis.ts
bind 127.0.0.1
protected-mode yes
port ${port}
daemonize no
dir ${dataDir}
appendonly yes
appendfsync always
appenddirname appendonlydir
save ""
databases 16
loglevel notice
`;
}

/** Starts Redis (or reuses a healthy one), with empty data when started here; a drill's restart keeps port and data. */
export async function upRedis(prev: RedisState | undefined): Promise<RedisState> {
  if (prev?.pid && pidAlive(prev.pid) && (await redisHealthy(prev.port).catch(() => false))) {
    log(`redis: reusing pid ${prev.pid} on ${prev.port}`);
    return prev;
  }
  return startRedis(prev, { emptyData: true });
}

export async function startRedis(
  prev: RedisState | undefined,
  { emptyData = false }: { emptyData?: boolean } = {},
): Promise<RedisState> {
  const bin = ensureRedisServer();
  const dir = path.join(stateDir(), 'redis');
  const dataDir = dataDirectory(path.join(dir, 'data'), { empty: emptyData });
  let port = prev?.port;
  if (!port || !(await portsFree([port]))) port = await freePort();
  const configFile = path.join(dir, 'redis.conf');
  fs.writeFileSync(configFile, redisConf({ port, dataDir }));
  const logFile = path.join(dir, 'redis.log');
  const pid = startDetached(bin, [configFile], { logFile, cwd: dir });
  log(`redis: started pid ${pid} on 127.0.0.1:${port}`);
  try {
    await eventually('redis', () => redisHealthy(port), { timeoutMs: 60_000, alive: () => pidAlive(pid) });
  } catch (err) {
    await stopPid(pid, { graceMs: 5000 });
    throw err;
  }
  return { url: `redis://127.0.0.1:${port}`, port, dataDir, pid, configFile, logFile, version: redisVersion(bin) };
}

export async function downRedis(state: RedisState | undefined): Promise<void> {
  // SIGTERM makes redis fsync the AOF and exit cleanly
  if (state?.pid) await stopPid(state.pid, { graceMs: 15_000 });
}

export function redisStatus(state: RedisState | undefined): Promise<ServerStatus> {
  return serverStatus(
    state,
    (s) => redisHealthy(s.port),
    (s) => ({ url: s.url, version: s.version }),
  );
}

function redisVersion(bin: string): string {
  const m = /v=([0-9.]+)/.exec(run(bin, ['--version']));
  return m?.[1] ?? 'unknown';
}
