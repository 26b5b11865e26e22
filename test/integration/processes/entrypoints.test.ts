// The commands as an operator runs them: each committed bin (services/*/bin/*.js, which imports dist/) spawned
// as a process. No test server is needed: these check what a process says, and its exit code, before it
// connects anywhere (ADR 0016).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const KEYS = JSON.stringify([{ id: 'k1', secret: 'entrypoints-test-signing-key-0123456789' }]);

const children: ChildProcess[] = [];
// a process that hangs (the failure these tests look for) must not outlive the test run
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

interface Exit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a bin with only the environment given (no MESHWAVE_* leaks in from the test runner). */
function run(bin: string, args: readonly string[], env: Record<string, string> = {}): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, bin), ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), OTEL_SDK_DISABLED: 'true', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const BINS = {
  meshwave: 'services/cli/bin/meshwave.js',
  planner: 'services/planner/bin/meshwave-planner.js',
  clusterAgent: 'services/cluster-agent/bin/meshwave-cluster-agent.js',
  vmBridge: 'services/vm-bridge/bin/meshwave-vm-bridge.js',
  vmAgent: 'services/vm-agent/bin/meshwave-vm-agent.js',
} as const;

beforeAll(() => {
  // the bins run dist/: make sure it is current
  execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-b'], {
    cwd: root,
    stdio: 'pipe',
  });
});

describe('--help', () => {
  it.each(Object.values(BINS))('Given %s, When run with --help, Then it prints its usage and exits 0', async (bin) => {
    const r = await run(bin, ['--help']);
    expect(r.stdout).toMatch(/^usage: meshwave/i); // commander (the CLI) writes "Usage:"
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.code).toBe(0);
  });
});

describe('a service without its bus and store', () => {
  it('Given the cluster-agent with no Kafka or Redis configured, When started, Then it exits 2 naming both variables', async () => {
    const r = await run(BINS.clusterAgent, [], { MESHWAVE_CLUSTER: 'prod-1', MESHWAVE_SIGNING_KEYS: KEYS });
    expect(r.stderr).toMatch(/MESHWAVE_KAFKA_BROKERS: missing/);
    expect(r.stderr).toMatch(/MESHWAVE_REDIS_URL: missing/);
    expect(r.code).toBe(2);
  });

  it('Given the planner with no Kafka or Redis configured, When started, Then it exits 2 naming both variables', async () => {
    const r = await run(BINS.planner, [], {
      MESHWAVE_SIGNING_KEYS: KEYS,
      MESHWAVE_TOKENS: JSON.stringify([{ name: 'ops', role: 'admin', token: 'entrypoints-test-token' }]),
    });
    expect(r.stderr).toMatch(/MESHWAVE_KAFKA_BROKERS: missing[\s\S]*MESHWAVE_REDIS_URL: missing/);
    expect(r.code).toBe(2);
  });

  it('Given the vm-bridge with no Kafka or Redis configured, When started, Then it exits 2 naming both variables', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mw-entrypoints-'));
    const config = path.join(dir, 'config.yaml');
    writeFileSync(config, `groups: [{ name: vms, enrollmentTokenSha256: "${'a'.repeat(64)}" }]\n`);
    const r = await run(BINS.vmBridge, ['--config', config], { MESHWAVE_SIGNING_KEYS: KEYS });
    expect(r.stderr).toMatch(/MESHWAVE_KAFKA_BROKERS: missing[\s\S]*MESHWAVE_REDIS_URL: missing/);
    expect(r.code).toBe(2);
  });
});

describe('a service on Kafka with the shared HMAC keys (ADR 0046)', () => {
  const kafka = { MESHWAVE_KAFKA_BROKERS: '127.0.0.1:1', MESHWAVE_REDIS_URL: 'redis://127.0.0.1:1' };
  const starts: Record<string, () => Promise<Exit>> = {
    planner: () =>
      run(BINS.planner, [], {
        ...kafka,
        MESHWAVE_SIGNING_KEYS: KEYS,
        MESHWAVE_SIGNING_ALLOW_HMAC: 'true',
        MESHWAVE_TOKENS: JSON.stringify([{ name: 'ops', role: 'admin', token: 'entrypoints-test-token' }]),
      }),
    'cluster-agent': () =>
      run(BINS.clusterAgent, [], {
        ...kafka,
        MESHWAVE_CLUSTER: 'prod-1',
        MESHWAVE_SIGNING_KEYS: KEYS,
        MESHWAVE_SIGNING_ALLOW_HMAC: 'true',
      }),
    'vm-bridge': () => {
      const config = path.join(mkdtempSync(path.join(os.tmpdir(), 'mw-entrypoints-')), 'config.yaml');
      writeFileSync(config, `groups: [{ name: vms, enrollmentTokenSha256: "${'a'.repeat(64)}" }]\n`);
      return run(BINS.vmBridge, ['--config', config], {
        ...kafka,
        MESHWAVE_SIGNING_KEYS: KEYS,
        MESHWAVE_SIGNING_ALLOW_HMAC: 'true',
      });
    },
  };
  it.each(Object.keys(starts))(
    'Given the %s with HMAC keys and the flag that used to allow them, When started, Then it exits 2 saying HMAC is for the embedded demo only',
    async (service) => {
      const r = await starts[service]!();
      expect(r.stderr).toMatch(/MESHWAVE_SIGNING_ALLOW_HMAC: HMAC signing is for the embedded demo only/);
      expect(r.stderr).toMatch(/MESHWAVE_SIGNING_KEYS: HMAC signing is for the embedded demo only/);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(r.code).toBe(2);
    },
  );
});

describe('meshwave demo on a port in use', () => {
  let occupied: Server;
  let port: number;
  beforeAll(async () => {
    occupied = createServer();
    await new Promise<void>((resolve) => occupied.listen(0, '127.0.0.1', resolve));
    port = (occupied.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => occupied.close(() => resolve())));

  it('Given another process on the port, When the demo starts on it, Then it stops what it started and exits 1 saying so', async () => {
    const r = await run(BINS.meshwave, ['demo', '--port', String(port), '--exit-when-done', '--output', 'json']);
    expect(r.stderr).toContain(`port ${port} is in use; try --port`);
    expect(r.stderr).not.toContain('internal error');
    expect(r.code).toBe(1);
  });
});
