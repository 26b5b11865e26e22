import { execFile, spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { silentAgentLogger as silentLogger, type Logger } from '../runtime/agent-logger.js';
import { systemClock, type Clock } from '@meshwave/reconcile';
import { VmAgentError, VmAgentErrorCode } from '../errors.js';
import { writeFileAtomic } from './atomic-file.js';
import { nodeHostFiles, type HostFiles } from './host-files.js';
import { BUNDLE_MARKER, type BundleMarker } from './bundle-store.js';

const execFileAsync = promisify(execFile);

/**
 * How the agent runs `istio-proxy` from the `current` directory. Implementations: a supervised child
 * process, a systemd unit, and a simulated proxy (embedded demo).
 */
export interface ProxyRunner {
  /** at agent start: make sure a proxy runs from `currentDir`, keeping one that already does */
  ensureRunning(currentDir: string): Promise<void>;
  /** stop what runs and start the proxy from `currentDir` (binary and configuration as `current` holds them now) */
  restart(currentDir: string): Promise<void>;
  stop(): Promise<void>;
  /**
   * Whether the proxy the last restart started still runs. A readiness answer is only believed when it does:
   * a new proxy that died (say, its port still held) must not pass on the old one's readiness.
   */
  stillRunning?(): Promise<boolean>;
}

export interface ReadinessResult {
  readonly ready: boolean;
  readonly detail?: string;
}

/** Is the proxy ready to serve (Envoy's `:15021/healthz/ready` for the real one)? */
export interface ReadinessProbe {
  check(timeoutMs: number): Promise<ReadinessResult>;
}

/** HTTP readiness: ready when `url` answers 2xx within the timeout. */
export class HttpReadinessProbe implements ReadinessProbe {
  constructor(private readonly url: string) {}

  async check(timeoutMs: number): Promise<ReadinessResult> {
    try {
      const response = await fetch(this.url, { signal: AbortSignal.timeout(timeoutMs) });
      await response.body?.cancel();
      return response.ok ? { ready: true } : { ready: false, detail: `${this.url} answered ${response.status}` };
    } catch (error) {
      return {
        ready: false,
        detail: `${this.url}: ${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}`,
      };
    }
  }
}

/**
 * Polls `probe` until ready or `timeoutMs` has passed; the last failure says why. The probe always looks once
 * more after the deadline: "not ready" is judged on what the proxy answered then, never on time alone. An event
 * loop too busy to probe between two checks (seconds, with 100,000 units in one process) used to pass the
 * deadline unseen and revert a host whose proxy had long been ready.
 */
export async function waitReady(
  probe: ReadinessProbe,
  options: { readonly timeoutMs: number; readonly intervalMs: number; readonly clock?: Clock },
): Promise<ReadinessResult> {
  const clock = options.clock ?? systemClock;
  const deadline = clock.now() + options.timeoutMs;
  const checkMs = Math.max(options.intervalMs, 1000);
  let last: ReadinessResult;
  for (;;) {
    const left = deadline - clock.now();
    last = await probe.check(left > 0 ? Math.min(left, checkMs) : checkMs);
    if (last.ready) return last;
    if (clock.now() >= deadline) break;
    await clock.sleep(Math.min(options.intervalMs, Math.max(0, deadline - clock.now())));
  }
  return {
    ready: false,
    detail: `not ready within ${Math.round(options.timeoutMs / 100) / 10}s: ${last.detail ?? 'no detail'}`,
  };
}

export interface ChildProcessRunnerOptions {
  /** the agent's directory: the pid file lives here */
  readonly stateDir: string;
  /** program, relative to the current version's directory; default `bin/istio-proxy` */
  readonly command?: string;
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** proxy stdout/stderr go here (appended); default: discarded */
  readonly logFile?: string;
  /** grace between SIGTERM and SIGKILL */
  readonly stopGraceMs?: number;
  readonly logger?: Logger;
  readonly clock?: Clock;
}

interface PidFile {
  readonly pid: number;
  /** process start time (/proc/<pid>/stat field 22): tells our process from a later one with the same pid */
  readonly startTicks: string;
}

/**
 * Runs the proxy as a child process in its own process group and restarts it when it exits. The pid file
 * lets a restarted agent find (and adopt or replace) the proxy its previous incarnation started.
 */
export class ChildProcessProxyRunner implements ProxyRunner {
  private readonly pidFile: string;
  private readonly log: Logger;
  private readonly clock: Clock;
  private watch: NodeJS.Timeout | undefined;
  private currentDir: string | undefined;
  private stopping = false;
  /** start/stop/supervision run one at a time: the supervisor must not start a proxy mid-restart */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: ChildProcessRunnerOptions) {
    this.pidFile = path.join(options.stateDir, 'proxy.pid');
    this.log = (options.logger ?? silentLogger()).child({ component: 'proxy-runner' });
    this.clock = options.clock ?? systemClock;
  }

  async ensureRunning(currentDir: string): Promise<void> {
    await this.serially(async () => {
      this.currentDir = currentDir;
      const running = await this.runningPid();
      if (running === undefined) await this.start(currentDir);
      else this.log.info({ pid: running }, 'adopted the running proxy');
    });
    this.supervise();
  }

  async restart(currentDir: string): Promise<void> {
    await this.serially(async () => {
      this.currentDir = currentDir;
      await this.stopProcess();
      await this.start(currentDir);
    });
    this.supervise();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.watch !== undefined) clearInterval(this.watch);
    await this.serially(() => this.stopProcess());
  }

  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  async stillRunning(): Promise<boolean> {
    return (await this.runningPid()) !== undefined;
  }

  /** Leaves the proxy running (agent shutdown for an upgrade of the agent itself). */
  detach(): void {
    this.stopping = true;
    if (this.watch !== undefined) clearInterval(this.watch);
  }

  private supervise(): void {
    if (this.watch !== undefined) return;
    this.stopping = false;
    this.watch = setInterval(() => {
      void this.serially(async () => {
        if (this.stopping || this.currentDir === undefined) return;
        if ((await this.runningPid()) !== undefined) return;
        this.log.warn('proxy exited; restarting it');
        await this.start(this.currentDir).catch((error: unknown) =>
          this.log.error({ err: error }, 'proxy restart failed'),
        );
      });
    }, 1000);
    this.watch.unref();
  }

  private async start(currentDir: string): Promise<void> {
    const command = path.join(currentDir, this.options.command ?? 'bin/istio-proxy');
    const out = this.options.logFile !== undefined ? openSync(this.options.logFile, 'a') : 'ignore';
    try {
      const child = spawn(command, [...(this.options.args ?? [])], {
        cwd: currentDir,
        env: { ...process.env, ...this.options.env },
        detached: true,
        stdio: ['ignore', out, out],
      });
      const pid = await new Promise<number>((resolve, reject) => {
        child.once('spawn', () => resolve(child.pid ?? -1));
        child.once('error', reject);
      });
      child.unref();
      await writeFileAtomic(this.pidFile, JSON.stringify({ pid, startTicks: await startTicks(pid) } satisfies PidFile));
      this.log.info({ pid, command }, 'proxy started');
    } catch (error) {
      throw new VmAgentError(VmAgentErrorCode.ProxyStartFailed, `cannot start ${command}`, {
        cause: error,
        context: { command },
      });
    } finally {
      if (typeof out === 'number') closeSync(out);
    }
  }

  private async runningPid(): Promise<number | undefined> {
    let saved: PidFile;
    try {
      saved = JSON.parse(await fs.readFile(this.pidFile, 'utf8')) as PidFile;
    } catch {
      return undefined;
    }
    const ticks = await startTicks(saved.pid);
    return ticks !== '' && ticks === saved.startTicks && !(await isZombie(saved.pid)) ? saved.pid : undefined;
  }

  private async stopProcess(): Promise<void> {
    const pid = await this.runningPid();
    if (pid === undefined) return;
    signalGroup(pid, 'SIGTERM');
    const deadline = this.clock.now() + (this.options.stopGraceMs ?? 5000);
    while (this.clock.now() < deadline && (await this.runningPid()) !== undefined) await this.clock.sleep(50);
    if ((await this.runningPid()) !== undefined) signalGroup(pid, 'SIGKILL');
    while ((await this.runningPid()) !== undefined) await this.clock.sleep(20);
    await fs.rm(this.pidFile, { force: true });
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

async function procStat(pid: number): Promise<string[] | undefined> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may contain spaces: split after its closing parenthesis
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

async function startTicks(pid: number): Promise<string> {
  return (await procStat(pid))?.[19] ?? '';
}

async function isZombie(pid: number): Promise<boolean> {
  return (await procStat(pid))?.[0] === 'Z';
}

/** Runs the proxy as a systemd unit whose ExecStart points into `<stateDir>/current/` (see deploy/systemd). */
export class SystemdProxyRunner implements ProxyRunner {
  constructor(
    private readonly unit: string,
    private readonly systemctl = 'systemctl',
  ) {}

  async ensureRunning(): Promise<void> {
    await this.run('start');
  }

  async restart(): Promise<void> {
    await this.run('restart');
  }

  async stop(): Promise<void> {
    await this.run('stop');
  }

  private async run(verb: string): Promise<void> {
    try {
      await execFileAsync(this.systemctl, [verb, this.unit], { timeout: 60_000 });
    } catch (error) {
      throw new VmAgentError(VmAgentErrorCode.ProxyStartFailed, `systemctl ${verb} ${this.unit} failed`, {
        cause: error,
        context: { unit: this.unit },
      });
    }
  }
}

/** Faults of the simulated proxy: versions whose proxy never becomes ready. */
export interface SimulatedProxyFaults {
  readonly unreadyVersions?: readonly string[];
}

/**
 * A proxy that exists only in memory (embedded demo): it "runs" the version whose bundle marker is in the
 * directory it is started from, becomes ready after `startDelayMs`, and never does for a faulty version.
 */
export class SimulatedProxyRunner implements ProxyRunner, ReadinessProbe {
  private version: string | undefined;
  private readyAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly options: {
      readonly clock: Clock;
      readonly startDelayMs: number;
      readonly faults?: SimulatedProxyFaults;
      /** the simulated host's disk, where the bundle marker is read; default `nodeHostFiles` */
      readonly files?: HostFiles;
    },
  ) {}

  /** the version the simulated proxy runs now (undefined: stopped) */
  get runningVersion(): string | undefined {
    return this.version;
  }

  async ensureRunning(currentDir: string): Promise<void> {
    if (this.version === undefined) await this.restart(currentDir);
  }

  async restart(currentDir: string): Promise<void> {
    const files = this.options.files ?? nodeHostFiles;
    const marker = JSON.parse(await files.readFile(path.join(currentDir, BUNDLE_MARKER))) as BundleMarker;
    this.version = marker.version;
    this.readyAt = this.options.clock.now() + this.options.startDelayMs;
  }

  async stop(): Promise<void> {
    this.version = undefined;
    this.readyAt = Number.POSITIVE_INFINITY;
    await Promise.resolve();
  }

  async check(): Promise<ReadinessResult> {
    await Promise.resolve();
    if (this.version === undefined) return { ready: false, detail: 'proxy not running' };
    if (this.options.faults?.unreadyVersions?.includes(this.version))
      return { ready: false, detail: `simulated proxy ${this.version} answered 503` };
    return this.options.clock.now() >= this.readyAt ? { ready: true } : { ready: false, detail: 'proxy starting' };
  }
}
