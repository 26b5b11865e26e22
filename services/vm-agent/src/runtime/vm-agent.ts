import path from 'node:path';
import { silentAgentLogger as silentLogger, type Logger } from './agent-logger.js';
import { systemClock, type Clock } from '@meshwave/reconcile';
import { VmAgentError, VmAgentErrorCode, isVmAgentError } from '../errors.js';
import { AgentPhase, type HostDesired, type HostReportBody } from '@meshwave/contracts';
import {
  EMPTY_JOURNAL,
  JournalPhase,
  readJournal,
  writeJournal,
  type AgentJournal,
  type InstalledVersion,
  type UpgradeTarget,
} from '../adapters/agent-journal.js';
import type { BridgeClient } from '../adapters/bridge-client.js';
import { reEnrolling } from './re-enrollment.js';
import { inRolloutSpan } from '../adapters/trace-context.js';
import { BundleStore, type BundleUnpacker, type HostFiles } from '../adapters/bundle-store.js';
import { waitReady, type ProxyRunner, type ReadinessProbe } from '../adapters/proxy-runner.js';
import { AgentStep, DEFAULT_AGENT_SETTINGS, type VmAgentSettings } from './agent-settings.js';

export interface VmAgentOptions {
  readonly host: string;
  readonly stateDir: string;
  readonly client: BridgeClient;
  readonly runner: ProxyRunner;
  readonly probe: ReadinessProbe;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly settings?: Partial<VmAgentSettings>;
  /** called after each step of an upgrade (fault injection) */
  readonly onStep?: (step: AgentStep) => void;
  /** how bundles are unpacked; default `tar` */
  readonly unpack?: BundleUnpacker;
  /** the host's disk; default `nodeHostFiles` (simulated hosts: `immediateHostFiles`) */
  readonly files?: HostFiles;
}

/**
 * The host daemon: polls its desired version, installs and verifies the bundle, switches `current`
 * atomically, restarts the proxy, checks readiness, switches back on failure, and reports. Every step is
 * journaled first, so a kill at any instant restarts into a consistent host (see `recover`).
 */
export class VmAgent {
  readonly settings: VmAgentSettings;
  private readonly bundles: BundleStore;
  private readonly journalFile: string;
  private readonly clock: Clock;
  private readonly log: Logger;
  private journal: AgentJournal = EMPTY_JOURNAL;
  private phase: AgentPhase = AgentPhase.Idle;
  private healthy = false;
  private lastError: string | undefined;
  private etag: string | undefined;
  private reporting: Promise<void> = Promise.resolve();
  private readonly stopController = new AbortController();
  private loop: Promise<void> | undefined;
  private heartbeat: Promise<void> | undefined;
  private readonly client: BridgeClient;

  constructor(private readonly options: VmAgentOptions) {
    this.settings = { ...DEFAULT_AGENT_SETTINGS, ...options.settings };
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger()).child({ component: 'vm-agent', host: options.host });
    this.client = reEnrolling(
      options.client,
      () => this.journal.running?.version ?? null,
      (reason) => this.log.warn({ reason }, 'the bridge no longer knows this host; enrolling again'),
    );
    this.bundles = new BundleStore(options.stateDir, {
      downloadTimeoutMs: this.settings.downloadTimeoutMs,
      now: () => this.clock.now(),
      ...(options.unpack !== undefined ? { unpack: options.unpack } : {}),
      ...(options.files !== undefined ? { files: options.files } : {}),
    });
    this.journalFile = path.join(options.stateDir, 'journal.json');
  }

  /** What the agent believes runs now (for tests and the demo). */
  get state(): {
    readonly journal: AgentJournal;
    readonly phase: AgentPhase;
    readonly healthy: boolean;
    readonly lastError?: string;
  } {
    return {
      journal: this.journal,
      phase: this.phase,
      healthy: this.healthy,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  /** Recovers from whatever a previous run left, enrolls, then polls and converges until `stop`. */
  async start(): Promise<void> {
    await this.recover();
    await this.retrying('register', () => this.client.register(this.journal.running?.version ?? null));
    await this.sendReport();
    this.loop = this.run();
    this.heartbeat = this.beat();
  }

  async stop(options: { readonly stopProxy?: boolean } = {}): Promise<void> {
    this.stopController.abort();
    await Promise.allSettled([this.loop, this.heartbeat]);
    await this.reporting.catch(() => undefined);
    if (options.stopProxy === true) await this.options.runner.stop();
  }

  /** Brings the host to a consistent state after a restart: never half-switched. */
  async recover(): Promise<void> {
    await this.bundles.init();
    const saved = await readJournal(this.journalFile, this.options.files);
    this.journal = saved ?? { phase: JournalPhase.Idle, running: await this.bundles.current() };
    this.log.info(
      { phase: this.journal.phase, running: this.journal.running?.version, target: this.journal.target?.version },
      'agent starting',
    );
    switch (this.journal.phase) {
      case JournalPhase.Installing:
        // `current` was never touched; tmp/ was emptied by init. The desired version is retried by the loop.
        await this.writeJournal({ ...this.journal, phase: JournalPhase.Idle });
        break;
      case JournalPhase.Switching:
        if (this.journal.target !== undefined)
          await this.switchAndCheck(this.journal.target, this.journal.previous ?? this.journal.running);
        break;
      case JournalPhase.Reverting:
        if (this.journal.target !== undefined) {
          await this.revert(
            this.journal.target,
            this.journal.previous ?? null,
            this.journal.failed?.reason ?? 'interrupted upgrade',
          );
        }
        break;
      case JournalPhase.Idle:
        break;
    }
    // Idle now: `current` must point at `running`, and a proxy must run from it.
    const current = await this.bundles.current();
    if (current?.dir !== this.journal.running?.dir) await this.bundles.switchTo(this.journal.running);
    if (this.journal.running !== null) {
      await this.options.runner.ensureRunning(this.bundles.currentLink);
      this.healthy = (
        await waitReady(this.options.probe, {
          timeoutMs: this.settings.readinessTimeoutMs,
          intervalMs: this.settings.readinessIntervalMs,
          clock: this.clock,
        })
      ).ready;
    }
  }

  private async run(): Promise<void> {
    const signal = this.stopController.signal;
    let backoff = this.settings.retryMs;
    while (!signal.aborted) {
      try {
        const answer = await this.client.desired(this.etag, this.settings.pollWaitSeconds, signal);
        backoff = this.settings.retryMs;
        if (answer === 'unchanged') continue;
        this.etag = answer.etag;
        // the version comes with the rollout's trace context: the work and the reports for it join that trace
        const attrs = {
          'meshwave.vm.host': answer.host,
          'meshwave.vmgroup': answer.group,
          'meshwave.revision': answer.version ?? '',
        };
        await inRolloutSpan('converge host', answer.traceparent, attrs, () => this.converge(answer));
      } catch (error) {
        if (signal.aborted) break;
        this.log.warn(
          { err: error instanceof Error ? error.message : String(error) },
          'desired-version poll failed; retrying',
        );
        await this.clock.sleep(backoff, signal);
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  private async beat(): Promise<void> {
    const signal = this.stopController.signal;
    while (!signal.aborted) {
      await this.clock.sleep(this.settings.reportIntervalMs, signal);
      if (signal.aborted) break;
      if (this.phase === AgentPhase.Idle && this.journal.running !== null) {
        const r = await this.options.probe.check(Math.min(5000, this.settings.readinessTimeoutMs));
        if (this.phase === AgentPhase.Idle) this.healthy = r.ready;
      }
      await this.sendReport().catch(() => undefined);
    }
  }

  /** Moves the host to `desired` (or records why it cannot). */
  async converge(desired: HostDesired): Promise<void> {
    const j = this.journal;
    if (desired.version === null) return;
    if (
      j.running?.version === desired.version &&
      (desired.bundle === null || j.running.sha256 === desired.bundle.sha256)
    ) {
      if (j.assignment !== desired.assignment) await this.writeJournal({ ...j, assignment: desired.assignment });
      await this.sendReport();
      return;
    }
    if (j.failed !== undefined && j.failed.assignment === desired.assignment && j.failed.version === desired.version) {
      await this.sendReport();
      return;
    }
    const log = this.log.child({ version: desired.version, assignment: desired.assignment });
    if (desired.bundle === null) {
      await this.recordFailure(desired, '', `the bridge has no bundle for version ${desired.version}`);
      return;
    }
    log.info({ from: j.running?.version ?? null, url: desired.bundle.url }, 'upgrading');
    await this.writeJournal({ ...j, phase: JournalPhase.Installing, assignment: desired.assignment });
    this.phase = AgentPhase.Downloading;
    // Phase reports are not waited for: they are ordered by the report chain and the bridge already counts
    // this host unavailable since it assigned the version.
    void this.sendReport({ targetVersion: desired.version });
    let installed: InstalledVersion;
    try {
      const protect = [j.running?.dir, j.previous?.dir].filter((d): d is string => d !== undefined);
      installed = await this.bundles.install(desired.version, desired.bundle, protect, (step) =>
        this.options.onStep?.(step),
      );
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      log.error({ err: reason }, 'bundle refused; nothing switched');
      this.phase = AgentPhase.Idle;
      if (isVmAgentError(error, VmAgentErrorCode.DownloadFailed)) {
        // A transient download failure is retried with the next poll (same etag would not re-answer).
        await this.writeJournal({ ...this.journal, phase: JournalPhase.Idle });
        this.etag = undefined;
        this.lastError = reason;
        await this.sendReport();
        await this.clock.sleep(this.settings.retryMs * 4, this.stopController.signal);
        return;
      }
      await this.recordFailure(desired, desired.bundle.sha256, reason);
      return;
    }
    const target: UpgradeTarget = {
      ...installed,
      assignment: desired.assignment,
      configDigest: desired.bundle.configDigest,
    };
    await this.switchAndCheck(target, j.running);
  }

  /** Switch `current` to `target`, restart, check; switch back on failure. Safe to redo after a kill. */
  private async switchAndCheck(target: UpgradeTarget, previous: InstalledVersion | null): Promise<void> {
    const log = this.log.child({ version: target.version, assignment: target.assignment });
    await this.writeJournal({
      ...this.journal,
      phase: JournalPhase.Switching,
      target,
      previous,
      assignment: target.assignment,
    });
    this.phase = AgentPhase.Switching;
    this.healthy = false;
    void this.sendReport({ targetVersion: target.version });
    await this.bundles.switchTo(target);
    this.options.onStep?.(AgentStep.Switched);
    this.phase = AgentPhase.Restarting;
    let result;
    try {
      await this.options.runner.restart(this.bundles.currentLink);
      this.options.onStep?.(AgentStep.Restarted);
      this.phase = AgentPhase.Checking;
      void this.sendReport({ targetVersion: target.version });
      this.options.onStep?.(AgentStep.Checking);
      result = await waitReady(this.options.probe, {
        timeoutMs: this.settings.readinessTimeoutMs,
        intervalMs: this.settings.readinessIntervalMs,
        clock: this.clock,
      });
      if (
        result.ready &&
        this.options.runner.stillRunning !== undefined &&
        !(await this.options.runner.stillRunning())
      ) {
        result = { ready: false, detail: 'the new proxy exited; readiness was answered by another process' };
      }
    } catch (error) {
      result = { ready: false, detail: error instanceof Error ? error.message : String(error) };
    }
    if (!result.ready) {
      log.error({ detail: result.detail }, 'new version not ready; switching back');
      await this.revert(target, previous, `readiness failed for ${target.version}: ${result.detail ?? 'no detail'}`);
      return;
    }
    await this.writeJournal({ phase: JournalPhase.Idle, running: target, assignment: target.assignment, previous });
    // Old versions go before the host says it is done, so "done" means the disk is as it stays.
    try {
      const removed = await this.bundles.prune(
        this.settings.keepVersions,
        [target.dir, previous?.dir].filter((d): d is string => d !== undefined),
      );
      if (removed.length > 0) log.info({ removed }, 'pruned old versions');
    } catch (error) {
      log.warn({ err: error instanceof Error ? error.message : String(error) }, 'pruning old versions failed');
    }
    this.phase = AgentPhase.Idle;
    this.healthy = true;
    this.lastError = undefined;
    log.info('upgraded; proxy ready');
    await this.sendReport();
  }

  private async revert(target: UpgradeTarget, previous: InstalledVersion | null, reason: string): Promise<void> {
    const failed = { version: target.version, sha256: target.sha256, assignment: target.assignment, reason };
    await this.writeJournal({ ...this.journal, phase: JournalPhase.Reverting, target, previous, failed });
    this.phase = AgentPhase.Reverting;
    await this.bundles.switchTo(previous);
    let ready = false;
    if (previous !== null) {
      await this.options.runner
        .restart(this.bundles.currentLink)
        .catch((error: unknown) => this.log.error({ err: error }, 'restart after revert failed'));
      ready = (
        await waitReady(this.options.probe, {
          timeoutMs: this.settings.readinessTimeoutMs,
          intervalMs: this.settings.readinessIntervalMs,
          clock: this.clock,
        })
      ).ready;
    } else {
      await this.options.runner.stop();
    }
    this.options.onStep?.(AgentStep.Reverted);
    await this.writeJournal({ phase: JournalPhase.Idle, running: previous, failed, assignment: target.assignment });
    this.phase = AgentPhase.Idle;
    this.healthy = ready;
    this.lastError = reason;
    await this.sendReport({ failedVersion: target.version });
  }

  private async recordFailure(desired: HostDesired, sha256: string, reason: string): Promise<void> {
    if (desired.version === null) return;
    const failed = { version: desired.version, sha256, assignment: desired.assignment, reason };
    await this.writeJournal({ ...this.journal, phase: JournalPhase.Idle, failed, assignment: desired.assignment });
    this.phase = AgentPhase.Idle;
    this.lastError = reason;
    await this.sendReport({ failedVersion: desired.version });
  }

  private async writeJournal(next: AgentJournal): Promise<void> {
    await writeJournal(this.journalFile, next, this.options.files);
    this.journal = next;
  }

  /** Reports, one at a time; the body is built when it is sent so the bridge always gets the latest. */
  private sendReport(extra: Partial<HostReportBody> = {}): Promise<void> {
    const send = async (): Promise<void> => {
      const j = this.journal;
      const failed = j.failed !== undefined && j.failed.assignment === j.assignment ? j.failed : undefined;
      const body: HostReportBody = {
        runningVersion: j.running?.version ?? null,
        healthy: this.healthy,
        phase: this.phase,
        ...(j.assignment !== undefined ? { assignment: j.assignment } : {}),
        ...(failed !== undefined
          ? { failedVersion: failed.version, lastError: failed.reason }
          : this.lastError !== undefined
            ? { lastError: this.lastError }
            : {}),
        ...extra,
      };
      // The report as sent is logged: the hosts' own record of when they were unavailable.
      this.log.info({ report: body, at: this.clock.now() }, 'report');
      await this.client.report(body);
    };
    const next = this.reporting.then(send, send);
    this.reporting = next.catch((error: unknown) => {
      this.log.warn({ err: error instanceof Error ? error.message : String(error) }, 'report failed');
    });
    return next.catch(() => undefined);
  }

  private async retrying(what: string, fn: () => Promise<void>): Promise<void> {
    let backoff = this.settings.retryMs;
    for (;;) {
      try {
        await fn();
        return;
      } catch (error) {
        if (this.stopController.signal.aborted) throw error;
        if (error instanceof VmAgentError && !error.retryable)
          this.log.error({ err: error.message }, `${what} refused; retrying`);
        else this.log.warn({ err: error instanceof Error ? error.message : String(error) }, `${what} failed; retrying`);
        await this.clock.sleep(backoff, this.stopController.signal);
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }
}
