import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { RolloutStatus } from '@meshwave/contracts';
import { DemoFleetConfig } from '../demo/fleet-config.js';
import { DEMO_TOKEN, startEmbeddedFleet, type EmbeddedFleet } from '../demo/embedded-fleet.js';
import { demoRolloutSpec } from '../demo/demo-command.js';
import { newCapturedIo, type CapturedIo } from '../captured-io.js';
import { runCli } from '../program.js';

function newFleetConfig(): DemoFleetConfig {
  return DemoFleetConfig.parse({
    clusters: [
      {
        name: 'staging-eu-1',
        labels: { env: 'staging' },
        namespaces: ['payments', 'catalog'],
        workloadsPerNamespace: 3,
      },
      {
        name: 'prod-us-east-1',
        labels: { env: 'prod' },
        namespaces: ['payments', 'catalog', 'search'],
        workloadsPerNamespace: 3,
      },
    ],
    vmGroups: [{ name: 'edge-proxies', labels: { role: 'edge', env: 'prod' }, hosts: 3 }],
    timing: { podStartMs: 50, vmRestartMs: 50, soakSeconds: 0.5, progressDeadlineSeconds: 30 },
  });
}

/** Reads real files: the test writes its rollout file to a temporary directory. */
function newIo(env: Record<string, string> = {}): CapturedIo {
  return { ...newCapturedIo({}, env), readFile: (path) => readFile(path, 'utf8') };
}

describe('operator CLI against a planner started in the test', () => {
  let fleet: EmbeddedFleet;
  let specFile: string;
  let flags: string[];

  beforeAll(async () => {
    fleet = await startEmbeddedFleet({ fleet: newFleetConfig(), port: 0 });
    const example = await readFile(new URL('../../../../examples/rollouts.yml', import.meta.url), 'utf8');
    const dir = await mkdtemp(join(tmpdir(), 'meshwave-cli-'));
    specFile = join(dir, 'rollouts.yml');
    await writeFile(specFile, stringify(demoRolloutSpec(example, 0.5, new Date())));
    flags = ['--planner', fleet.url, '--token', DEMO_TOKEN];
    // the agents' inventory reports reach the planner first
    for (let i = 0; i < 100; i++) {
      if ((await fleet.planner.fleet()).clusters.length === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 60_000);

  afterAll(async () => {
    await fleet?.close();
  });

  it('applies a rollout, pauses and resumes it, approves its gated wave and watches it to completion', async () => {
    // Given a rollout file
    const apply = newIo();
    expect(await runCli(['apply', '-f', specFile, '--yes', ...flags, '--output', 'json'], apply)).toBe(0);
    const id = (JSON.parse(apply.out.join('')) as { id: string }).id;

    // When an operator pauses and resumes it
    const pause = newIo();
    expect(await runCli(['pause', id, ...flags, '--reason', 'lunch'], pause)).toBe(0);
    expect(pause.out.join()).toMatch(/Paused/);
    const resume = newIo();
    expect(await runCli(['resume', id, ...flags], resume)).toBe(0);

    // and approves the wave that waits for approval
    for (let i = 0; i < 300; i++) {
      const io = newIo();
      await runCli(['status', id, ...flags, '--output', 'json'], io);
      const status = JSON.parse(io.out.join('')) as RolloutStatus;
      const wave = status.waveStatuses[status.wave];
      if (status.phase === 'Completed') break;
      if (status.phase === 'Running' && wave?.approval && !wave.approved) {
        const approve = newIo();
        expect(await runCli(['approve', id, ...flags], approve)).toBe(0);
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }

    // Then `status --watch` follows it to the end and exits 0
    const watch = newIo();
    expect(
      await runCli(['status', id, ...flags, '--watch', '--interval', '0.2'], watch, {
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      }),
    ).toBe(0);
    expect(watch.out.join('')).toMatch(/phase Completed/);

    // and the fleet view shows nothing left on the old revision outside the excluded namespaces
    const fleetIo = newIo();
    expect(await runCli(['fleet', ...flags, '--output', 'json'], fleetIo)).toBe(0);
    const view = JSON.parse(fleetIo.out.join('')) as {
      revisions: { revision: string; workloads: number; vmHosts: number }[];
    };
    expect(view.revisions.find((r) => r.revision === '1-24-5')?.vmHosts ?? 0).toBe(0);
  }, 120_000);

  it('says why an action does not apply (409), and refuses a missing or wrong token (401)', async () => {
    const list = newIo();
    expect(await runCli(['status', ...flags, '--output', 'json'], list)).toBe(0);
    const id = (JSON.parse(list.out.join('')) as { rollouts: { id: string }[] }).rollouts[0]!.id;

    const conflict = newIo();
    expect(await runCli(['resume', id, ...flags], conflict)).toBe(2);
    expect(conflict.err.join()).toMatch(/409/);

    const unauthenticated = newIo();
    expect(await runCli(['fleet', '--planner', fleet.url, '--token', 'wrong'], unauthenticated)).toBe(2);
    expect(unauthenticated.err.join()).toMatch(/401/);
  }, 30_000);

  it('explains an unreachable planner and an unreadable file', async () => {
    const unreachable = newIo();
    expect(await runCli(['fleet', '--planner', 'http://127.0.0.1:1', '--token', DEMO_TOKEN], unreachable)).toBe(1);
    expect(unreachable.err.join()).toMatch(/cannot reach the planner at http:\/\/127\.0\.0\.1:1/);

    const missing = newIo();
    expect(await runCli(['apply', '-f', '/nonexistent/rollouts.yml', ...flags], missing)).toBe(2);
    expect(missing.err.join()).toMatch(/cannot read: ENOENT/);
  });

  it('takes the planner URL and token from the environment', async () => {
    const io = newIo({ MESHWAVE_PLANNER_URL: fleet.url, MESHWAVE_TOKEN: DEMO_TOKEN });
    expect(await runCli(['fleet'], io)).toBe(0);
    expect(io.out.join()).toMatch(/staging-eu-1/);
  });
});
