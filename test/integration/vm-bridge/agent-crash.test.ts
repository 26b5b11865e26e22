// vm-agent processes killed (SIGKILL) at each step of an upgrade: on disk the host is never half-switched,
// and after a restart each one finishes or undoes what it was doing and converges.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { VmGroupDesiredState } from '@meshwave/contracts';
import type { StateStore } from '@meshwave/store';
import { AgentStep, JournalPhase, readJournal } from '@meshwave/vm-agent';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildVmBridge,
  bundleCatalog,
  freePort,
  newAgentProcess,
  newStore,
  newTestBundle,
  proxyVersion,
  startBridge,
  stopAgents,
  until,
  type AgentProcess,
  type RunningBridge,
  type TestBundle,
} from './vm-fleet-support.js';

const STEPS = [AgentStep.Downloaded, AgentStep.Unpacked, AgentStep.Switched, AgentStep.Restarted, AgentStep.Checking];

let workDir: string;
let store: StateStore;
let bridge: RunningBridge;
let bundles: Record<'v1' | 'v2' | 'v3', TestBundle>;
const agents: AgentProcess[] = [];

function newCommand(group: string, hosts: Record<string, string>): VmGroupDesiredState {
  return {
    rolloutId: 'crash-rollout',
    wave: 1,
    generation: 1,
    epoch: 1,
    group,
    from: 'v1',
    to: Object.values(hosts)[0] ?? 'v1',
    maxUnavailable: Object.keys(hosts).length,
    halted: false,
    hosts: Object.entries(hosts).map(([name, version]) => ({ name, version })),
  };
}

async function healthy(group: string, n: number): Promise<boolean> {
  const { hosts } = await bridge.bridge.snapshot(group);
  return hosts.length === n && hosts.every((h) => h.report?.healthy === true && h.report.phase === 'idle');
}

beforeAll(async () => {
  buildVmBridge();
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'meshwave-vm-crash-'));
  const bundleDir = path.join(workDir, 'bundles');
  await fs.mkdir(bundleDir);
  bundles = {
    v1: await newTestBundle(bundleDir, 'v1', { ready: true }),
    v2: await newTestBundle(bundleDir, 'v2', { ready: true }),
    v3: await newTestBundle(bundleDir, 'v3', { ready: false }),
  };
  store = newStore();
  const port = await freePort();
  bridge = await startBridge({
    store,
    catalog: bundleCatalog(`http://127.0.0.1:${port}`, Object.values(bundles)),
    groups: ['crash', 'crash-revert'],
    bundleDir,
    port,
    instance: 'crash-bridge',
  });
}, 240_000);

afterAll(async () => {
  await stopAgents(agents);
  await bridge?.stop();
  await store?.close();
  if (process.env.KEEP_VM_IT === undefined) await fs.rm(workDir, { recursive: true, force: true });
});

describe('vm-agent killed at each step', () => {
  it('Given agents killed right after download, unpack, switch, restart and during the check, When they restart, Then each host is consistent and converges on the new version', async () => {
    const logFile = path.join(workDir, 'agents.log');
    for (const [i, step] of STEPS.entries()) {
      agents.push(
        await newAgentProcess({
          host: `c${i + 1}`,
          group: 'crash',
          bridgeUrl: bridge.url,
          workDir: path.join(workDir, 'hosts'),
          initial: bundles.v1,
          logFile,
          env: { MESHWAVE_VM_AGENT_CRASH_AT: step },
          readinessTimeoutSeconds: 5,
        }),
      );
    }
    await until(() => healthy('crash', STEPS.length), 'hosts enrolled and healthy');
    await bridge.bridge.applyCommand(newCommand('crash', Object.fromEntries(STEPS.map((_, i) => [`c${i + 1}`, 'v2']))));

    const exits = await Promise.all(agents.map((a) => a.exited));
    expect(exits.map((e) => e.signal)).toEqual(STEPS.map(() => 'SIGKILL'));
    // Killed: `current` always names one complete version, whatever the step.
    for (const a of agents) {
      const current = await fs.readlink(path.join(a.stateDir, 'current'));
      expect(['versions/v1', 'versions/v2']).toContain(current);
      await expect(fs.stat(path.join(a.stateDir, current, '.meshwave-bundle.json'))).resolves.toBeDefined();
    }

    for (const a of agents) a.restart({ MESHWAVE_VM_AGENT_CRASH_AT: '' });
    await until(
      async () => {
        const { hosts } = await bridge.bridge.snapshot('crash');
        return hosts.every((h) => h.report?.runningVersion === 'v2' && h.report.phase === 'idle' && h.report.healthy);
      },
      'all hosts on v2',
      120_000,
    );
    for (const a of agents) {
      const running = await proxyVersion(a.readyPort);
      expect(running).toMatchObject({ version: 'v2', configVersion: 'v2' });
      expect(running?.binaryDir).toBe(path.join(a.stateDir, 'versions', 'v2'));
      expect(await fs.readlink(path.join(a.stateDir, 'current'))).toBe('versions/v2');
      expect((await readJournal(path.join(a.stateDir, 'journal.json')))?.phase).toBe(JournalPhase.Idle);
    }
    expect((await bridge.bridge.snapshot('crash')).group.halted).toBe(false);
  }, 300_000);

  it('Given an agent killed while switching back from a version that never gets ready, When it restarts, Then it finishes the revert and the failure reaches the bridge', async () => {
    const agent = await newAgentProcess({
      host: 'r1',
      group: 'crash-revert',
      bridgeUrl: bridge.url,
      workDir: path.join(workDir, 'hosts'),
      initial: bundles.v1,
      logFile: path.join(workDir, 'revert-agent.log'),
      env: { MESHWAVE_VM_AGENT_CRASH_AT: AgentStep.Reverted },
      readinessTimeoutSeconds: 3,
    });
    agents.push(agent);
    await until(() => healthy('crash-revert', 1), 'r1 enrolled and healthy');
    await bridge.bridge.applyCommand(newCommand('crash-revert', { r1: 'v3' }));
    expect((await agent.exited).signal).toBe('SIGKILL');
    expect((await readJournal(path.join(agent.stateDir, 'journal.json')))?.phase).toBe(JournalPhase.Reverting);

    agent.restart({ MESHWAVE_VM_AGENT_CRASH_AT: '' });
    await until(async () => (await bridge.bridge.snapshot('crash-revert')).group.halted, 'group halted');
    const { group } = await bridge.bridge.snapshot('crash-revert');
    expect(group.haltReason).toContain('host r1 could not run v3: readiness failed for v3');
    expect(await fs.readlink(path.join(agent.stateDir, 'current'))).toBe('versions/v1');
    await until(async () => (await proxyVersion(agent.readyPort))?.version === 'v1', 'proxy back on v1');
    expect((await readJournal(path.join(agent.stateDir, 'journal.json')))?.phase).toBe(JournalPhase.Idle);
  }, 300_000);
});
