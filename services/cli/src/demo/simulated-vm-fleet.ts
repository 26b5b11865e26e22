import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { HostDesired, HostReportBody, VmGroup } from '@meshwave/contracts';
import type { EventBus } from '@meshwave/bus';
import { createInMemoryStore, type StateStore } from '@meshwave/store';
import { silentLogger, type Logger } from '@meshwave/telemetry';
import type { FastifyInstance } from 'fastify';
import { VmBridge, buildApp, bundleCatalogFromDirectory, hashToken, type BridgeSettings } from '@meshwave/vm-bridge';
import { systemClock, type Clock } from '@meshwave/reconcile';
import { HostProvisioner } from './host-provisioner.js';
import {
  HttpBridgeClient,
  SimulatedProxyRunner,
  VmAgent,
  immediateHostFiles,
  newHostToken,
  type BridgeClient,
  type SimulatedProxyFaults,
  type VmAgentSettings,
} from '@meshwave/vm-agent';

const execFileAsync = promisify(execFile);

/** Linux's memory-backed filesystem, where the machine has one. */
const MEMORY_FS = '/dev/shm';

/**
 * Where simulated hosts keep their files: in memory (`/dev/shm`) where the machine offers it, else the temporary
 * directory. Each simulated host does a real host's file work (bundle install, journal, fsyncs, atomic switch), and
 * thousands of them on one disk measured the disk: a 500-host batch took 2 s where it takes 1.3 s in memory, and
 * twice the CPU (issue 15). A real host does this on its own disk; 10,000 hosts take ~170 MB here.
 */
export async function simulatedHostsRoot(): Promise<string> {
  try {
    await fs.access(MEMORY_FS, fs.constants.W_OK);
    return MEMORY_FS;
  } catch {
    return os.tmpdir();
  }
}

const OWN_DIR_PREFIX = 'meshwave-vm-fleet-';

/** whether a process of this pid runs (EPERM: it runs, as someone else) */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A new directory `meshwave-vm-fleet-<pid>-XXXXXX` under `simulatedHostsRoot()`. The directories of fleets whose
 * process is gone (killed before `close`) are removed first: in memory they would hold RAM until a reboot.
 */
async function ownWorkDir(): Promise<string> {
  const root = await simulatedHostsRoot();
  for (const name of await fs.readdir(root).catch(() => [] as string[])) {
    const pid = /^meshwave-vm-fleet-(\d+)-/.exec(name)?.[1];
    if (pid !== undefined && !alive(Number(pid)))
      await fs.rm(path.join(root, name), { recursive: true, force: true }).catch(() => undefined);
  }
  return fs.mkdtemp(path.join(root, `${OWN_DIR_PREFIX}${process.pid}-`));
}

/**
 * How often each simulated host reports while idle (its heartbeat, with a readiness probe): every 2 s in a small
 * fleet, so the demo shows a host's health at once, stretched with the fleet's size up to the agent's production
 * default (10 s, with the bridge's 30 s staleness), so that the bridge takes at most ~1,000 heartbeats a second:
 * 10,000 hosts every 2 s were a tenth of the embedded fleet's one thread (issue 15). A host reports every change
 * of its own at once whatever this is.
 */
export function simulatedHeartbeatMs(hosts: number): number {
  return Math.min(10_000, Math.max(2_000, hosts));
}

/** One simulated VM group: `hosts` hosts named `<name>-<i>` (or the names given) starting on `initialVersion`. */
export interface SimulatedVmGroupSpec {
  readonly name: string;
  readonly hosts: number | readonly string[];
  readonly initialVersion: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** per host name: versions whose proxy never becomes ready there */
  readonly faults?: Readonly<Record<string, SimulatedProxyFaults>>;
}

export interface SimulatedVmFleetOptions {
  readonly groups: readonly SimulatedVmGroupSpec[];
  /** proxy versions that have a bundle (every initial and target version); default: the initial versions */
  readonly versions?: readonly string[];
  readonly clock?: Clock;
  /** the bus the planner publishes VM commands on; without one, drive the bridge with `bridge.applyCommand` */
  readonly bus?: EventBus;
  /** default: a private in-memory store */
  readonly store?: StateStore;
  readonly logger?: Logger;
  /** how long a simulated proxy takes to become ready after a restart; default 300 ms */
  readonly proxyStartMs?: number;
  readonly bridgeSettings?: Partial<BridgeSettings>;
  readonly agentSettings?: Partial<VmAgentSettings>;
  /**
   * where bundles and host directories go; default a new directory under `simulatedHostsRoot()`, removed by
   * `close`
   */
  readonly workDir?: string;
  /**
   * `in-process` (default): agents call the bridge directly; `http`: the bridge's HTTP API listens on
   * 127.0.0.1 (any port) and agents use the HTTP client, as real hosts do
   */
  readonly transport?: 'in-process' | 'http';
}

export interface SimulatedVmHost {
  readonly name: string;
  readonly group: string;
  readonly agent: VmAgent;
  readonly proxy: SimulatedProxyRunner;
}

export interface SimulatedVmFleet {
  readonly bridge: VmBridge;
  /** the bridge's URL when the transport is `http` */
  readonly url?: string;
  readonly hosts: readonly SimulatedVmHost[];
  /** the directory holding the bundles and every host's files */
  readonly workDir: string;
  /** the VM groups as an inventory: each host with the version its agent runs now */
  inventory(): VmGroup[];
  close(): Promise<void>;
}

/**
 * The vm-bridge core plus N simulated hosts in one process: the real bridge and the real agent logic (bundle
 * install, atomic switch, journal, readiness, revert), with the simulated proxy runner and an in-process
 * transport instead of HTTP. Used by the embedded demo (`npm start`).
 */
export async function createSimulatedVmFleet(options: SimulatedVmFleetOptions): Promise<SimulatedVmFleet> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger();
  const ownDir = options.workDir === undefined;
  const workDir = options.workDir ?? (await ownWorkDir());
  const versions = [...new Set([...(options.versions ?? []), ...options.groups.map((g) => g.initialVersion)])];
  const bundleDir = path.join(workDir, 'bundles');
  await fs.mkdir(bundleDir, { recursive: true });
  for (const version of versions) await writeSimulatedBundle(bundleDir, version);
  const catalog = await bundleCatalogFromDirectory(bundleDir);
  const enrollment = newHostToken();
  const bridge = new VmBridge({
    store: options.store ?? createInMemoryStore(),
    ...(options.bus !== undefined ? { bus: options.bus } : {}),
    catalog,
    groups: options.groups.map((g) => ({ name: g.name, enrollmentTokenSha256: hashToken(enrollment) })),
    clock,
    logger,
    instance: 'embedded-vm-bridge',
    settings: { reportStaleMs: 30_000, batchTimeoutMs: 60_000, tickMs: 500, ...options.bridgeSettings },
  });
  await bridge.start();
  let app: FastifyInstance | undefined;
  let url: string | undefined;
  if (options.transport === 'http') {
    app = await buildApp({ bridge, logger });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  }

  const heartbeatMs = simulatedHeartbeatMs(
    options.groups.reduce((n, g) => n + (typeof g.hosts === 'number' ? g.hosts : g.hosts.length), 0),
  );
  const provisioner = new HostProvisioner(workDir, (version) => catalog.resolve(version), clock);
  const hosts: SimulatedVmHost[] = [];
  for (const g of options.groups) {
    for (const name of hostNamesOf(g)) {
      const stateDir = path.join(workDir, 'hosts', name);
      await provisioner.provision(stateDir, g.initialVersion);
      const proxy = new SimulatedProxyRunner({
        clock,
        startDelayMs: options.proxyStartMs ?? 300,
        files: immediateHostFiles,
        ...(g.faults?.[name] !== undefined ? { faults: g.faults[name] } : {}),
      });
      const token = newHostToken();
      const agent = new VmAgent({
        host: name,
        stateDir,
        client:
          url !== undefined
            ? new HttpBridgeClient({
                bridgeUrl: url,
                host: name,
                group: g.name,
                token,
                tokenSha256: hashToken(token),
                enrollmentToken: enrollment,
              })
            : new InProcessBridgeClient(bridge, name, g.name, token, enrollment),
        runner: proxy,
        probe: proxy,
        unpack: provisioner.unpack,
        files: immediateHostFiles,
        clock,
        logger: logger.child({ host: name }),
        settings: {
          pollWaitSeconds: 30,
          reportIntervalMs: heartbeatMs,
          readinessTimeoutMs: 5000,
          readinessIntervalMs: 100,
          ...options.agentSettings,
        },
      });
      hosts.push({ name, group: g.name, agent, proxy });
    }
  }
  await Promise.all(hosts.map((h) => h.agent.start()));

  return {
    bridge,
    ...(url !== undefined ? { url } : {}),
    hosts,
    workDir,
    inventory: () =>
      options.groups.map((g) => ({
        name: g.name,
        labels: { ...g.labels },
        hosts: hosts
          .filter((h) => h.group === g.name)
          .map((h) => ({ name: h.name, version: h.agent.state.journal.running?.version ?? null })),
      })),
    close: async () => {
      await Promise.all(hosts.map((h) => h.agent.stop({ stopProxy: true })));
      await app?.close();
      await bridge.stop();
      if (ownDir) await fs.rm(workDir, { recursive: true, force: true });
    },
  };
}

/** A group's host names: `<name>-<i>`, or the names given. */
function hostNamesOf(g: SimulatedVmGroupSpec): string[] {
  return typeof g.hosts === 'number' ? Array.from({ length: g.hosts }, (_, i) => `${g.name}-${i + 1}`) : [...g.hosts];
}

/** The agent's bridge client without HTTP: the same authentication and long-poll code paths. */
export class InProcessBridgeClient implements BridgeClient {
  private readonly authorization: string;

  constructor(
    private readonly bridge: VmBridge,
    private readonly host: string,
    private readonly group: string,
    private readonly token: string,
    private readonly enrollmentToken: string,
  ) {
    this.authorization = `Bearer ${token}`;
  }

  async register(runningVersion: string | null): Promise<void> {
    await this.bridge.registerHost(this.group, `Bearer ${this.enrollmentToken}`, {
      host: this.host,
      tokenSha256: hashToken(this.token),
      runningVersion,
    });
  }

  async desired(
    etag: string | undefined,
    waitSeconds: number,
    signal?: AbortSignal,
  ): Promise<HostDesired | 'unchanged'> {
    this.bridge.authenticateHost(this.host, this.authorization);
    const answer = await this.bridge.awaitDesired(this.host, etag, waitSeconds * 1000, signal);
    return answer.changed ? answer.desired : 'unchanged';
  }

  async report(body: HostReportBody): Promise<void> {
    this.bridge.authenticateHost(this.host, this.authorization);
    await this.bridge.report(this.host, body);
  }
}

/** A small real bundle for `version`: a placeholder proxy program and its configuration. */
async function writeSimulatedBundle(dir: string, version: string): Promise<void> {
  const src = path.join(dir, `src-${version}`);
  await fs.mkdir(path.join(src, 'bin'), { recursive: true });
  await fs.mkdir(path.join(src, 'config'), { recursive: true });
  await fs.writeFile(path.join(src, 'bin', 'istio-proxy'), `#!/bin/sh\n# simulated istio-proxy ${version}\nexit 0\n`, {
    mode: 0o755,
  });
  await fs.writeFile(path.join(src, 'config', 'proxy.json'), `${JSON.stringify({ version })}\n`);
  await execFileAsync('tar', ['-czf', path.join(dir, `${version}.tar.gz`), '-C', src, '.']);
  await fs.rm(src, { recursive: true, force: true });
}
