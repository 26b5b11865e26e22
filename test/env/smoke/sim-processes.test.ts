// The process mode's simulated fleet over several processes (ADR 0067): how the clusters are split (pure), and
// the lifecycle of the simulator processes on the test env's Kafka and Redis: start-up waits for all, stop() and a
// failed start stop all of them, none is left behind.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { DemoFleetConfig } from '@meshwave/cli';
import { pidAlive } from '../lib/common.ts';
import { benchFleetConfig, FLEETS, writeFleetFile } from '../../bench/fleet/fleet-files.ts';
import {
  SimulatorsStartError,
  startSimulators,
  targetFileOf,
  type Simulators,
} from '../../bench/fleet/sim-processes.ts';
import {
  defaultClusterProcesses,
  fleetOfPart,
  partOf,
  splitSimulatedFleet,
  sumGroundTruth,
} from '../../bench/fleet/sim-split.ts';
import { loadTestEnv } from '../../support/env.ts';
import { eventually } from '../../support/eventually.ts';
import { KEYS_DIR_VARIABLE, newSigningFleet } from '../../support/signing-fleet.ts';

const STARTER = fileURLToPath(new URL('./fixtures/start-simulators.ts', import.meta.url));
const SMALL: DemoFleetConfig = benchFleetConfig({ name: 't', clusters: 2, workloadsPerCluster: 3, vmHosts: 4 });
const names = (fleet: DemoFleetConfig): string[] => fleet.clusters.map((c) => c.name);

describe('the simulated fleet split over processes', () => {
  it('given fleet (b) and 2 cluster processes, then 25 clusters each, dealt in turn, and the bridge in a third', () => {
    const b = benchFleetConfig(FLEETS.b!);
    const parts = splitSimulatedFleet(b, 2);
    expect(parts).toHaveLength(3);
    expect(parts.map((p) => p.vmBridge)).toEqual([false, false, true]);
    expect(parts.map((p) => p.clusters.length)).toEqual([25, 25, 0]);
    expect(parts[0]!.clusters.slice(0, 3)).toEqual(['staging-01', 'staging-03', 'staging-05']);
    expect(parts[1]!.clusters.slice(0, 2)).toEqual(['staging-02', 'staging-04']);
    // every cluster in exactly one part
    expect(parts.flatMap((p) => p.clusters).sort()).toEqual(names(b).sort());
  });

  it('given more processes than clusters, then one process per cluster and none empty', () => {
    const parts = splitSimulatedFleet(SMALL, 8);
    expect(parts.map((p) => p.clusters.length)).toEqual([1, 1, 0]);
    expect(parts.at(-1)!.vmBridge).toBe(true);
  });

  it('given a fleet without VM groups, then no bridge process', () => {
    expect(splitSimulatedFleet({ ...SMALL, vmGroups: [] }, 2).some((p) => p.vmBridge)).toBe(false);
  });

  it('given no whole positive number of processes, then a RangeError', () => {
    for (const n of [0, -1, 1.5, Number.NaN]) expect(() => splitSimulatedFleet(SMALL, n)).toThrow(RangeError);
  });

  it('given the cores, then one cluster process per core, 2 at least, never more than clusters', () => {
    expect(defaultClusterProcesses(50, 2)).toBe(2);
    expect(defaultClusterProcesses(50, 1)).toBe(2);
    expect(defaultClusterProcesses(50, 16)).toBe(16);
    expect(defaultClusterProcesses(10, 16)).toBe(10);
    expect(defaultClusterProcesses(1, 4)).toBe(1);
  });

  it('given a part, then its fleet holds its clusters only, and the VM groups only with the bridge', () => {
    const [first, , bridge] = splitSimulatedFleet(SMALL, 2);
    const f = fleetOfPart(SMALL, first!);
    expect(names(f)).toEqual(['staging-01']);
    expect(f.vmGroups).toEqual([]);
    const v = fleetOfPart(SMALL, bridge!);
    expect(v.clusters).toEqual([]);
    expect(v.vmGroups).toEqual(SMALL.vmGroups);
    expect(() => fleetOfPart(SMALL, { clusters: ['nope'], vmBridge: false })).toThrow(RangeError);
  });

  it('given no part on the command line, then the whole fleet, as before the split', () => {
    expect(partOf(SMALL, undefined, false)).toEqual({ clusters: names(SMALL), vmBridge: true });
    expect(partOf(SMALL, '', true)).toEqual({ clusters: [], vmBridge: true });
    expect(partOf(SMALL, 'prod-02', false)).toEqual({ clusters: ['prod-02'], vmBridge: false });
  });

  it("given each process's ground truth, then the fleet's is their sum, with every cluster's peak restarts", () => {
    expect(
      sumGroundTruth([
        { units: { total: 3, onTarget: 1 }, vmGroups: [], peakRestarting: { 'prod-01': 2 } },
        { units: { total: 0, onTarget: 0 }, vmGroups: ['g1', 'g2'], peakRestarting: {} },
        { units: { total: 5, onTarget: 5 }, vmGroups: [], peakRestarting: { 'prod-02': 4, 'prod-03': 0 } },
      ]),
    ).toEqual({
      units: { total: 8, onTarget: 6 },
      vmGroups: ['g1', 'g2'],
      peakRestarting: { 'prod-01': 2, 'prod-02': 4, 'prod-03': 0 },
    });
  });
});

describe('the simulator processes on the test env (Kafka, Redis)', () => {
  const cleanups: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  function setUp(): { options: Parameters<typeof startSimulators>[0]; targetsDir: string; run: string } {
    const env = loadTestEnv();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshwave-sim-processes-test-'));
    const targetsDir = path.join(dir, 'targets');
    fs.mkdirSync(targetsDir);
    const keys = newSigningFleet(names(SMALL));
    cleanups.push(() => {
      keys.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const run = randomBytes(4).toString('hex');
    return {
      targetsDir,
      run,
      options: {
        fleetFile: writeFleetFile(dir, SMALL, 'small'),
        parts: [],
        to: '1-25-2',
        run,
        targetsDir,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          OTEL_SDK_DISABLED: 'true',
          LOG_LEVEL: 'warn',
          MESHWAVE_KAFKA_BROKERS: env.kafka.brokers.join(','),
          MESHWAVE_REDIS_URL: env.redis.url,
          MESHWAVE_REDIS_KEY_PREFIX: `simtest-${run}`,
          MESHWAVE_TOPIC_COMMANDS: `simtest-${run}.commands`,
          MESHWAVE_TOPIC_EVENTS: `simtest-${run}.events`,
          MESHWAVE_TOPIC_DLQ: `simtest-${run}.dlq`,
          [KEYS_DIR_VARIABLE]: keys.dir,
        },
        startupLimitSeconds: 150,
      },
    };
  }

  it('given 2 cluster processes, then both serve their clusters, and after stop() both are gone with their targets', async () => {
    const { options, targetsDir, run } = setUp();
    const sims: Simulators = await startSimulators({ ...options, parts: splitSimulatedFleet(SMALL, 2).slice(0, 2) });
    cleanups.push(() => sims.stop(10_000));
    expect(sims.pids).toHaveLength(2);
    for (const pid of sims.pids) expect(pidAlive(pid)).toBe(true);
    const targets = [0, 1].map(
      (i) => JSON.parse(fs.readFileSync(targetFileOf(targetsDir, run, i), 'utf8')) as { labels: object }[],
    );
    expect(targets.map((t) => t.map((g) => g.labels))).toEqual([
      [expect.objectContaining({ meshwave_bench_target: 'staging-01', __metrics_path__: '/metrics/staging-01' })],
      [expect.objectContaining({ meshwave_bench_target: 'prod-02', __metrics_path__: '/metrics/prod-02' })],
    ]);
    for (const [i, cluster] of ['staging-01', 'prod-02'].entries()) {
      const res = await fetch(`http://127.0.0.1:${sims.ports[i]}/metrics/${cluster}`);
      expect(res.status).toBe(200);
    }
    const truth = await sims.groundTruth('1-24-5', []);
    expect(truth.units.total).toBeGreaterThan(0);
    expect(truth.units.onTarget).toBe(truth.units.total);
    // nothing was restarted: each process counts its own clusters' restarts, none yet
    expect(truth.peakRestarting).toEqual({ 'staging-01': 0, 'prod-02': 0 });
    await sims.stop(10_000);
    for (const pid of sims.pids) expect(pidAlive(pid)).toBe(false);
    expect(fs.readdirSync(targetsDir)).toEqual([]);
  });

  it('given one process fails to start, then the start fails and the other process is stopped too', async () => {
    const { options, targetsDir } = setUp();
    const started = startSimulators({
      ...options,
      parts: [
        { clusters: ['staging-01'], vmBridge: false },
        { clusters: ['no-such-cluster'], vmBridge: false },
      ],
    });
    const err = await started.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SimulatorsStartError);
    const failed = err as SimulatorsStartError;
    expect(failed.code).toBe('SIMULATORS_NOT_STARTED');
    expect(failed.pids).toHaveLength(2);
    await eventually('both simulators gone', () => failed.pids.every((pid) => !pidAlive(pid)), 30_000);
    expect(fs.readdirSync(targetsDir)).toEqual([]);
  });

  it('given the benchmark is killed (SIGKILL), then its simulator processes stop by themselves', async () => {
    const { options, targetsDir } = setUp();
    const parts = splitSimulatedFleet(SMALL, 2).slice(0, 2);
    const child = spawn(process.execPath, [STARTER], {
      env: { ...process.env, MESHWAVE_TEST_SIMULATORS: JSON.stringify({ ...options, parts }) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanups.push(() => void child.kill('SIGKILL'));
    let out = '';
    child.stdout.on('data', (d: Buffer) => void (out += d.toString()));
    const line = await eventually('the simulators started', () => /^(\{"pids".*\})$/m.exec(out)?.[1], {
      timeoutMs: 150_000,
      alive: () => child.exitCode === null,
    });
    const { pids } = JSON.parse(line) as { pids: number[] };
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(pidAlive(pid)).toBe(true);
    child.kill('SIGKILL');
    await eventually('both simulators gone', () => pids.every((pid) => !pidAlive(pid)), 30_000);
    expect(fs.readdirSync(targetsDir)).toEqual([]);
  });
});
