// 30+ vm-agent processes on 127.0.0.1 against one vm-bridge, with the test proxy as istio-proxy.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MessageType, Topic, vmGroupKey, type VmGroupDesiredState, type VmProgress } from '@meshwave/contracts';
import type { EventBus, IncomingMessage, Subscription } from '@meshwave/bus';
import type { StateStore } from '@meshwave/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildVmBridge,
  bundleCatalog,
  freePort,
  maxConcurrentUnavailable,
  newAgentProcess,
  newBuses,
  newTestBundle,
  newStore,
  proxyVersion,
  readReports,
  startBridge,
  stopAgents,
  until,
  type AgentProcess,
  type RunningBridge,
  type TestBundle,
} from './vm-fleet-support.js';

const HOSTS = 32;
const MAX_UNAVAILABLE = 4;
const SIGNING = { keys: [{ id: 'it', secret: 'vm-bridge-integration-signing-key-0001' }], activeKeyId: 'it' };

interface World {
  workDir: string;
  bundleDir: string;
  bundles: Record<'v1' | 'v2' | 'v3' | 'v4', TestBundle>;
  store: StateStore;
  bridgeBus: () => EventBus;
  planner: EventBus;
  events: IncomingMessage[];
  eventsSub: Subscription;
  port: number;
  bridge: RunningBridge;
  fleet: AgentProcess[];
  logFile: string;
  generation: Map<string, number>;
}

let world: World;

async function publish(
  group: string,
  hosts: Record<string, string>,
  over: Partial<VmGroupDesiredState> = {},
): Promise<void> {
  const generation = (world.generation.get(group) ?? 0) + 1;
  world.generation.set(group, generation);
  const data: VmGroupDesiredState = {
    rolloutId: 'it-rollout',
    wave: 1,
    generation,
    epoch: 1,
    group,
    from: 'v1',
    to: Object.values(hosts)[0] ?? 'v1',
    maxUnavailable: MAX_UNAVAILABLE,
    halted: false,
    hosts: Object.entries(hosts).map(([name, version]) => ({ name, version })),
    ...over,
  };
  await world.planner.publish([
    {
      topic: Topic.Commands,
      key: vmGroupKey(group),
      type: MessageType.VmGroupDesiredState,
      data,
      audience: vmGroupKey(group),
    },
  ]);
}

const allHosts = (version: string): Record<string, string> =>
  Object.fromEntries(Array.from({ length: HOSTS }, (_, i) => [`h${String(i + 1).padStart(2, '0')}`, version]));

async function startFleetBridge(instance: string): Promise<RunningBridge> {
  const url = `http://127.0.0.1:${world.port}`;
  return startBridge({
    store: world.store,
    bus: world.bridgeBus(),
    catalog: bundleCatalog(url, Object.values(world.bundles), { v4: { sha256: 'f'.repeat(64) } }),
    groups: ['fleet', 'crash', 'crash-revert'],
    bundleDir: world.bundleDir,
    port: world.port,
    instance,
    logFile: path.join(world.workDir, 'bridge.log'),
  });
}

async function hostsOn(group: string, version: string): Promise<boolean> {
  const { hosts } = await world.bridge.bridge.snapshot(group);
  return (
    hosts.length > 0 &&
    hosts.every(
      (h) =>
        h.desiredVersion === version &&
        h.report?.runningVersion === version &&
        h.report.phase === 'idle' &&
        h.report.healthy,
    )
  );
}

beforeAll(async () => {
  buildVmBridge();
  const workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'meshwave-vm-it-'));
  const bundleDir = path.join(workDir, 'bundles');
  await fs.mkdir(bundleDir);
  const bundles = {
    v1: await newTestBundle(bundleDir, 'v1', { ready: true }),
    v2: await newTestBundle(bundleDir, 'v2', { ready: true }),
    v3: await newTestBundle(bundleDir, 'v3', { ready: false }),
    v4: await newTestBundle(bundleDir, 'v4', { ready: true }),
  };
  // Kafka and Redis of the real test environment; without it this fails, saying how to start it.
  const { bridgeBus, planner } = newBuses(SIGNING);
  const store = newStore();
  const events: IncomingMessage[] = [];
  const eventsSub = await planner.subscribe({
    topic: Topic.Events,
    groupId: `it-planner-${process.pid}`,
    fromBeginning: true,
    handler: async (m) => {
      events.push(m);
    },
  });
  world = {
    workDir,
    bundleDir,
    bundles,
    store,
    bridgeBus,
    planner,
    events,
    eventsSub,
    port: await freePort(),
    bridge: undefined as unknown as RunningBridge,
    fleet: [],
    logFile: path.join(workDir, 'agents.log'),
    generation: new Map(),
  };
  world.bridge = await startFleetBridge('bridge-a');
  for (let i = 1; i <= HOSTS; i++) {
    world.fleet.push(
      await newAgentProcess({
        host: `h${String(i).padStart(2, '0')}`,
        group: 'fleet',
        bridgeUrl: world.bridge.url,
        workDir: path.join(workDir, 'hosts'),
        initial: bundles.v1,
        logFile: world.logFile,
      }),
    );
  }
  await until(
    async () => {
      const { hosts } = await world.bridge.bridge.snapshot('fleet');
      return hosts.length === HOSTS && hosts.every((h) => h.report?.healthy === true);
    },
    `${HOSTS} hosts enrolled and healthy`,
    300_000,
  );
}, 420_000);

afterAll(async () => {
  if (world === undefined) return;
  await stopAgents(world.fleet);
  await world.bridge?.stop();
  await world.eventsSub.close();
  await world.planner.close();
  await world.store.close();
  process.stdout.write(`vm-bridge integration: logs=${world.logFile}\n`);
  if (process.env.KEEP_VM_IT === undefined) await fs.rm(world.workDir, { recursive: true, force: true });
});

describe('vm-bridge with 32 vm-agent processes', () => {
  it('Given 32 hosts on v1, When v2 is rolled with maxUnavailable 4 and the bridge is killed mid-rollout, Then the new bridge continues and every host ends on v2 with never more than 4 unavailable', async () => {
    const started = Date.now();
    await publish('fleet', allHosts('v2'));
    await until(
      async () => (await world.bridge.bridge.snapshot('fleet')).group.batchesStarted >= 3,
      'third batch started',
    );
    // Killed: the lease is not released, the successor waits for it to expire and resumes from the store.
    await world.bridge.stop({ releaseLease: false });
    world.bridge = await startFleetBridge('bridge-b');
    await until(() => hostsOn('fleet', 'v2'), 'all hosts on v2', 300_000);

    const reports = (await readReports(world.logFile)).filter((r) => r.at >= started);
    expect(maxConcurrentUnavailable(reports)).toBeLessThanOrEqual(MAX_UNAVAILABLE);
    expect(maxConcurrentUnavailable(reports)).toBeGreaterThan(0);
    for (const a of world.fleet) expect((await proxyVersion(a.readyPort))?.version).toBe('v2');
    expect((await world.bridge.bridge.snapshot('fleet')).group.batchesStarted).toBe(HOSTS / MAX_UNAVAILABLE);
  }, 480_000);

  it('Given the fleet on v2, When a version whose proxy never gets ready is rolled, Then its first batch is reverted, the group halts and the planner is told why', async () => {
    const started = Date.now();
    await publish('fleet', allHosts('v3'));
    await until(async () => (await world.bridge.bridge.snapshot('fleet')).group.halted, 'group halted');
    await until(() => hostsOn('fleet', 'v2'), 'all hosts back on v2');

    const progress = await until(
      () =>
        world.events
          .map((e) => e.data as VmProgress)
          .find((p) => p.group === 'fleet' && p.halted && p.reason?.includes('v3') === true),
      'halted progress event',
    );
    expect(progress.reason).toMatch(/HostReportedFailure: host h0[1-4] could not run v3: readiness failed for v3/);
    const touched = new Set(
      (await readReports(world.logFile)).filter((r) => r.at >= started && r.phase !== 'idle').map((r) => r.host),
    );
    expect([...touched].sort()).toEqual(['h01', 'h02', 'h03', 'h04']);
    for (const a of world.fleet) expect((await proxyVersion(a.readyPort))?.version).toBe('v2');
  }, 400_000);

  it('Given the fleet on v2, When a bundle does not match its sha256, Then the host refuses it, reports it, and nothing is switched', async () => {
    await publish('fleet', { ...allHosts('v2'), h01: 'v4' }, { maxUnavailable: 1 });
    await until(async () => {
      const { group } = await world.bridge.bridge.snapshot('fleet');
      return group.halted && group.haltReason?.includes('v4') === true;
    }, 'halted on v4');
    const { group } = await world.bridge.bridge.snapshot('fleet');
    expect(group.haltReason).toContain('host h01 could not run v4: bundle for v4 has sha256');
    const h01 = world.fleet[0]!;
    expect(await fs.readlink(path.join(h01.stateDir, 'current'))).toBe(path.join('versions', 'v2'));
    expect(await fs.readdir(path.join(h01.stateDir, 'versions'))).not.toContain('v4');
    expect((await proxyVersion(h01.readyPort))?.version).toBe('v2');
  }, 400_000);

  it("Given two enrolled hosts, When one host's token is used for the other, Then the bridge answers 403", async () => {
    const token = (await fs.readFile(path.join(world.fleet[0]!.stateDir, 'host-token'), 'utf8')).trim();
    const auth = { authorization: `Bearer ${token}` };
    expect((await fetch(`${world.bridge.url}/v1/hosts/h01/desired`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${world.bridge.url}/v1/hosts/h02/desired`, { headers: auth })).status).toBe(403);
    const report = await fetch(`${world.bridge.url}/v1/hosts/h02/report`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ runningVersion: 'v1', healthy: false, phase: 'idle' }),
    });
    expect(report.status).toBe(403);
    expect(
      (await fetch(`${world.bridge.url}/v1/hosts/h02/desired`, { headers: { authorization: 'Bearer forged' } })).status,
    ).toBe(401);
  });
});
