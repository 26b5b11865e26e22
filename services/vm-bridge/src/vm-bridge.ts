import { createHash } from 'node:crypto';
import {
  CommandRejectionReason,
  MessageType,
  Topic,
  fenceCommand,
  VmHostState,
  vmGroupKey,
  type HaltCommand,
  type HostDesired,
  type HostRegistrationBody,
  type HostRegistrationResult,
  type HostReportBody,
  type VmGroupDesiredState,
  type VmProgress,
} from '@meshwave/contracts';
import type { EventBus, IncomingMessage, OutgoingMessage, Subscription } from '@meshwave/bus';
import type { Lease, StateStore } from '@meshwave/store';
import {
  MeshwaveAttribute,
  extractTraceContext,
  rolloutAttributes,
  silentLogger,
  withSpan,
  type Logger,
} from '@meshwave/telemetry';
import { SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import {
  BatchEventKind,
  decideGroup,
  type BatchEvent,
  type Decision,
  type DecisionSettings,
  type GroupRecord,
  type HostRecord,
  type HostReport,
} from './batch-decision.js';
import { createBridgeMetrics, type BridgeMetrics } from './bridge-metrics.js';
import type { BundleCatalog } from './bundle-catalog.js';
import { systemClock, type Clock } from '@meshwave/reconcile';
import { VmBridgeError, VmBridgeErrorCode } from './errors.js';
import { groupProgress } from './group-progress.js';
import { loadGroup, saveGroup, type GroupChanges, type HostCredential, type StoredGroup } from './group-store.js';
import { bearerToken, hashToken, sameDigest } from './host-token.js';

/** A VM group this bridge serves. Hosts enroll with the group's enrollment token (its sha256 is configured). */
export interface VmGroupConfig {
  readonly name: string;
  /** sha256 (hex) of the enrollment token; undefined: the group accepts no new hosts */
  readonly enrollmentTokenSha256?: string;
}

export interface BridgeSettings extends DecisionSettings {
  /** the bridge's leader lease; a second bridge waits, a restarted one takes over when it expires */
  readonly leaseName: string;
  readonly leaseTtlMs: number;
  /** how often every group is reconciled even without news (deadlines, staleness) */
  readonly tickMs: number;
  /** progress is republished at least this often even when unchanged */
  readonly progressIntervalMs: number;
  /** upper bound of one long poll */
  readonly maxLongPollMs: number;
  /** consumer group of the commands subscription */
  readonly consumerGroup: string;
}

export const DEFAULT_BRIDGE_SETTINGS: BridgeSettings = {
  batchTimeoutMs: 10 * 60_000,
  reportStaleMs: 90_000,
  leaseName: 'vm-bridge',
  leaseTtlMs: 15_000,
  tickMs: 1000,
  progressIntervalMs: 30_000,
  maxLongPollMs: 60_000,
  consumerGroup: 'meshwave-vm-bridge',
};

export interface VmBridgeOptions {
  readonly store: StateStore;
  /** commands in, progress out; without a bus the bridge is driven through `applyCommand` (tests, demo) */
  readonly bus?: EventBus;
  readonly catalog: BundleCatalog;
  readonly groups: readonly VmGroupConfig[];
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly tracer?: Tracer;
  readonly metrics?: BridgeMetrics;
  /** this replica's name, the lease holder */
  readonly instance?: string;
  readonly settings?: Partial<BridgeSettings>;
}

/** Result of applying a command, for logs, metrics and tests. */
export type CommandOutcome =
  | { readonly result: 'applied' | 'duplicate' }
  | { readonly result: 'rejected'; readonly reason: CommandRejectionReason; readonly detail: string }
  | { readonly result: 'ignored'; readonly detail: string };

/** A long-poll answer: the desired state, or "unchanged" after waiting. */
export type DesiredAnswer =
  { readonly changed: true; readonly desired: HostDesired } | { readonly changed: false; readonly etag: string };

interface HostIndexEntry {
  readonly group: string;
  tokenSha256: string;
  record: HostRecord;
}

const MAX_WRITE_ATTEMPTS = 8;

/**
 * The VM bridge: keeps each host's desired version in the StateStore, rolls batches through the pure
 * `decideGroup`, answers hosts (through the HTTP app or in process) and reports progress to the planner.
 * One replica acts at a time (leader lease; its epoch fences every write).
 */
export class VmBridge {
  readonly settings: BridgeSettings;
  readonly metrics: BridgeMetrics;
  private readonly store: StateStore;
  private readonly bus: EventBus | undefined;
  private readonly catalog: BundleCatalog;
  private readonly groups: ReadonlyMap<string, VmGroupConfig>;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly tracer: Tracer;
  private readonly instance: string;
  private lease: Lease | undefined;
  private subscription: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** true once every group's hosts are indexed (answers before that would be wrong 401/404s) */
  private loaded = false;
  private readonly stopController = new AbortController();
  private readonly hosts = new Map<string, HostIndexEntry>();
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly lastProgress = new Map<string, { json: string; at: number }>();
  private readonly tickErrors = new Map<string, string>();
  private readonly pendingReports = new Map<string, Map<string, HostReport>>();
  private readonly queuedFlushes = new Map<string, Promise<void>>();

  constructor(options: VmBridgeOptions) {
    this.store = options.store;
    this.bus = options.bus;
    this.catalog = options.catalog;
    this.groups = new Map(options.groups.map((g) => [g.name, g] as const));
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger()).child({ component: 'vm-bridge' });
    this.tracer = options.tracer ?? trace.getTracer('meshwave-vm-bridge');
    this.metrics = options.metrics ?? createBridgeMetrics();
    this.instance = options.instance ?? `vm-bridge-${process.pid}`;
    this.settings = { ...DEFAULT_BRIDGE_SETTINGS, ...options.settings };
  }

  /** Takes the lease (waiting for a previous holder's to expire), loads every group, then starts consuming. */
  async start(): Promise<void> {
    while (!this.stopped) {
      this.lease = await this.store.acquireLease(this.settings.leaseName, this.instance, this.settings.leaseTtlMs);
      if (this.lease !== undefined) break;
      this.log.info({ lease: this.settings.leaseName }, 'lease held by another bridge; waiting');
      await this.clock.sleep(Math.max(100, this.settings.leaseTtlMs / 5), this.stopController.signal);
    }
    if (this.stopped || this.lease === undefined) return;
    this.log.info({ epoch: this.lease.epoch, instance: this.instance }, 'vm-bridge holds the lease');
    for (const name of this.groups.keys()) await this.refreshIndex(await loadGroup(this.store, name));
    this.loaded = true;
    if (this.bus !== undefined) {
      this.subscription = await this.bus.subscribe({
        topic: Topic.Commands,
        groupId: this.settings.consumerGroup,
        audiences: [...this.groups.keys()].map(vmGroupKey),
        types: [MessageType.VmGroupDesiredState, MessageType.Halt],
        fromBeginning: true,
        handler: async (message) => {
          await this.handleMessage(message);
        },
      });
    }
    this.scheduleTick();
  }

  /** True while this replica holds the lease and acts. */
  get active(): boolean {
    return this.lease !== undefined && !this.stopped;
  }

  get groupNames(): readonly string[] {
    return [...this.groups.keys()];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopController.abort();
    if (this.timer !== undefined) clearTimeout(this.timer);
    for (const set of this.waiters.values()) for (const wake of set) wake();
    await this.subscription?.close();
    await Promise.allSettled([...this.chains.values()]);
    if (this.lease !== undefined) await this.store.releaseLease(this.lease).catch(() => undefined);
    this.lease = undefined;
  }

  /**
   * Stops without releasing the lease, as a crashed bridge would leave it: a successor waits for it to
   * expire. For tests of restarts.
   */
  async abandon(): Promise<void> {
    this.stopped = true;
    this.stopController.abort();
    if (this.timer !== undefined) clearTimeout(this.timer);
    for (const set of this.waiters.values()) for (const wake of set) wake();
    await this.subscription?.close();
    await Promise.allSettled([...this.chains.values()]);
    this.lease = undefined;
  }

  // ---- commands ------------------------------------------------------------------------------------------

  /** Entry point for the bus: verifies the key, applies, and reports a rejection on the events topic. */
  async handleMessage(message: IncomingMessage): Promise<CommandOutcome> {
    const data = message.data as VmGroupDesiredState | HaltCommand;
    const group =
      message.type === MessageType.Halt
        ? groupOfTarget((data as HaltCommand).target)
        : (data as VmGroupDesiredState).group;
    const span = { traceparent: message.traceparent, tracestate: message.tracestate };
    return withSpan(
      this.tracer,
      'process meshwave.commands',
      {
        kind: SpanKind.CONSUMER,
        parent: extractTraceContext(span),
        attributes: {
          ...rolloutAttributes({ rolloutId: data.rolloutId, wave: data.wave, vmGroup: group }),
          [MeshwaveAttribute.Generation]: data.generation,
          [MeshwaveAttribute.Epoch]: data.epoch,
        },
      },
      async (s) => {
        let outcome: CommandOutcome;
        if (!this.groups.has(group)) outcome = { result: 'ignored', detail: `group ${group} is not served here` };
        else if (message.key !== vmGroupKey(group)) {
          outcome = {
            result: 'rejected',
            reason: CommandRejectionReason.WrongKey,
            detail: `key ${message.key} does not match group ${group}`,
          };
        } else if (message.type === MessageType.Halt) outcome = await this.applyHalt(data as HaltCommand);
        else outcome = await this.applyCommand(data as VmGroupDesiredState, message.traceparent);
        s.setAttribute('meshwave.command.result', outcome.result);
        this.metrics.commands.inc({ type: message.type, result: outcome.result });
        if (outcome.result === 'rejected') {
          this.log.warn({ group, id: message.id, reason: outcome.reason, detail: outcome.detail }, 'command rejected');
          await this.publish([
            {
              topic: Topic.Events,
              key: vmGroupKey(group),
              type: MessageType.CommandRejected,
              data: {
                source: `vm-bridge/${group}`,
                commandId: message.id,
                reason: outcome.reason,
                detail: outcome.detail,
              },
            },
          ]);
        }
        return outcome;
      },
    );
  }

  /** Applies a desired-state command (fenced by epoch, ordered by generation). */
  async applyCommand(command: VmGroupDesiredState, traceparent?: string): Promise<CommandOutcome> {
    return this.mutate(command.group, (loaded) => {
      const g = loaded.group;
      const current = g.command;
      const highestEpoch = g.highestEpoch ?? 0;
      const fence = fenceCommand({ epoch: highestEpoch, generation: current?.generation }, command);
      if (fence.verdict === 'rejected') return { outcome: reject(fence.reason, fence.detail) };
      if (fence.verdict === 'same') {
        // A redelivery or a new leader's resend: nothing to apply, but its epoch fences the deposed leader.
        return {
          outcome: { result: 'duplicate' },
          changes: { group: { ...g, highestEpoch: Math.max(highestEpoch, command.epoch) } },
        };
      }
      let next: GroupRecord = {
        ...g,
        highestEpoch: Math.max(highestEpoch, command.epoch),
        command: {
          rolloutId: command.rolloutId,
          wave: command.wave,
          generation: command.generation,
          epoch: command.epoch,
          from: command.from,
          to: command.to,
          maxUnavailable: command.maxUnavailable,
          targets: Object.fromEntries(command.hosts.map((h) => [h.name, h.version])),
          ...(traceparent !== undefined ? { traceparent } : {}),
        },
      };
      if (command.halted) {
        next = {
          ...next,
          halted: true,
          haltReason: g.halted ? (g.haltReason ?? 'halted') : `halted by planner (generation ${command.generation})`,
          haltedAtGeneration: command.generation,
        };
      } else if (g.halted && command.generation > (g.haltedAtGeneration ?? 0)) {
        // A later decision of the planner resumes the group; it was told why the group halted.
        const { haltReason: _r, haltedAtGeneration: _h, ...rest } = next;
        next = { ...rest, halted: false };
      }
      return { outcome: { result: 'applied' }, changes: { group: next } };
    });
  }

  /** Halts the group at once: no new batch starts; the one in flight completes or reverts. */
  async applyHalt(halt: HaltCommand): Promise<CommandOutcome> {
    const group = groupOfTarget(halt.target);
    return this.mutate(group, (loaded) => {
      const g = loaded.group;
      const highestEpoch = g.highestEpoch ?? 0;
      // A halt of an older generation than the group's command is out of date; one of the same generation halts it.
      const fence = fenceCommand({ epoch: highestEpoch, generation: g.command?.generation ?? 0 }, halt);
      if (fence.verdict === 'rejected') return { outcome: reject(fence.reason, fence.detail) };
      if (g.halted && (g.haltedAtGeneration ?? 0) >= halt.generation) return { outcome: { result: 'duplicate' } };
      return {
        outcome: { result: 'applied' },
        changes: {
          group: {
            ...g,
            highestEpoch: Math.max(highestEpoch, halt.epoch),
            halted: true,
            haltReason: `halted by planner: ${halt.reason}`,
            haltedAtGeneration: halt.generation,
          },
        },
      };
    });
  }

  // ---- hosts ---------------------------------------------------------------------------------------------

  /** Enrolls a host into a group (idempotent for the same token hash). */
  async registerHost(
    group: string,
    authorization: string | undefined,
    body: HostRegistrationBody,
  ): Promise<HostRegistrationResult> {
    this.requireActive();
    this.requireEnrollmentToken(group, authorization, `enrolling into group "${group}"`);
    const known = this.hosts.get(body.host);
    if (known !== undefined && known.group !== group) {
      throw new VmBridgeError(
        VmBridgeErrorCode.HostConflict,
        `host "${body.host}" is registered in group "${known.group}"`,
        { context: { host: body.host } },
      );
    }
    return this.mutate<HostRegistrationResult>(group, (loaded) => {
      const existing = loaded.credentials.get(body.host);
      if (existing !== undefined) {
        if (!sameDigest(existing.credential.tokenSha256, body.tokenSha256)) {
          throw new VmBridgeError(
            VmBridgeErrorCode.HostConflict,
            `host "${body.host}" is already registered with another token`,
            {
              context: { host: body.host },
            },
          );
        }
        return { outcome: { host: body.host, group, result: 'unchanged' as const } };
      }
      const credential: HostCredential = { tokenSha256: body.tokenSha256, registeredAt: this.clock.now() };
      const record: HostRecord = loaded.hosts.get(body.host)?.record ?? {
        name: body.host,
        desiredVersion: body.runningVersion,
        previousVersion: body.runningVersion,
        assignment: 0,
        state: VmHostState.Pending,
      };
      return {
        outcome: { host: body.host, group, result: 'created' as const },
        changes: { hosts: [record], credentials: new Map([[body.host, credential]]) },
        audit: {
          actor: `host/${body.host}`,
          action: 'register',
          scope: vmGroupKey(group),
          at: new Date(this.clock.now()).toISOString(),
        },
      };
    });
  }

  /**
   * Takes a host out of its group (decommissioned, re-imaged, or its token leaked), with the group's enrollment
   * token: whoever may enroll hosts may remove them. Its record and token are deleted, so the token is refused
   * from then on, the host no longer counts against maxUnavailable, and the same name may enroll again with a
   * new token. Removing an absent host changes nothing.
   */
  async removeHost(
    group: string,
    host: string,
    authorization: string | undefined,
  ): Promise<{ host: string; group: string; result: 'removed' | 'absent' }> {
    this.requireActive();
    this.requireEnrollmentToken(group, authorization, `removing a host from group "${group}"`);
    return this.mutate<{ host: string; group: string; result: 'removed' | 'absent' }>(group, (loaded) => {
      if (!loaded.hosts.has(host) && !loaded.credentials.has(host))
        return { outcome: { host, group, result: 'absent' as const } };
      return {
        outcome: { host, group, result: 'removed' as const },
        changes: { removedHosts: [host] },
        audit: {
          actor: `enrollment/${group}`,
          action: 'remove-host',
          scope: vmGroupKey(group),
          at: new Date(this.clock.now()).toISOString(),
          detail: { host },
        },
      };
    });
  }

  private requireEnrollmentToken(group: string, authorization: string | undefined, what: string): void {
    const config = this.groups.get(group);
    if (config === undefined)
      throw new VmBridgeError(VmBridgeErrorCode.UnknownGroup, `no VM group "${group}" here`, { context: { group } });
    const token = bearerToken(authorization);
    if (
      token === undefined ||
      config.enrollmentTokenSha256 === undefined ||
      !sameDigest(hashToken(token), config.enrollmentTokenSha256)
    ) {
      throw new VmBridgeError(VmBridgeErrorCode.Unauthenticated, `${what} needs its enrollment token`, {
        context: { group },
      });
    }
  }

  /** Checks that `authorization` is `host`'s own token: 401 when it is nobody's, 403 when it is another host's. */
  authenticateHost(host: string, authorization: string | undefined): void {
    this.requireActive();
    const token = bearerToken(authorization);
    if (token === undefined) throw new VmBridgeError(VmBridgeErrorCode.Unauthenticated, 'missing bearer token');
    const digest = hashToken(token);
    const entry = this.hosts.get(host);
    if (entry !== undefined && sameDigest(entry.tokenSha256, digest)) return;
    for (const [name, other] of this.hosts) {
      if (sameDigest(other.tokenSha256, digest)) {
        throw new VmBridgeError(
          VmBridgeErrorCode.Forbidden,
          `this token belongs to another host and may not act for host "${host}"`,
          {
            context: { host, tokenHost: name },
          },
        );
      }
    }
    throw new VmBridgeError(VmBridgeErrorCode.Unauthenticated, 'unknown bearer token');
  }

  /** The desired state of `host` now. */
  desiredOf(host: string): HostDesired {
    const entry = this.hosts.get(host);
    if (entry === undefined)
      throw new VmBridgeError(VmBridgeErrorCode.UnknownHost, `host "${host}" is not registered`, { context: { host } });
    const version = entry.record.desiredVersion;
    const bundle = version === null ? null : (this.catalog.resolve(version) ?? null);
    const digest = createHash('sha256')
      .update(`${version ?? ''}|${bundle?.sha256 ?? ''}|${bundle?.configDigest ?? ''}`)
      .digest('hex')
      .slice(0, 16);
    const etag = `"${entry.record.assignment}-${digest}"`;
    return { host, group: entry.group, version, bundle, assignment: entry.record.assignment, etag };
  }

  /** Long poll: answers at once when the desired state differs from `ifNoneMatch`, else waits up to `waitMs`. */
  async awaitDesired(
    host: string,
    ifNoneMatch: string | undefined,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<DesiredAnswer> {
    let desired = this.desiredOf(host);
    if (ifNoneMatch === undefined || ifNoneMatch !== desired.etag) return { changed: true, desired };
    const wait = Math.min(waitMs, this.settings.maxLongPollMs);
    if (wait > 0 && !this.stopped) {
      this.metrics.longPolls.inc();
      try {
        await new Promise<void>((resolve) => {
          const set = this.waiters.get(host) ?? new Set<() => void>();
          this.waiters.set(host, set);
          const wake = (): void => {
            clearTimeout(timer);
            set.delete(wake);
            signal?.removeEventListener('abort', wake);
            resolve();
          };
          const timer = setTimeout(wake, wait);
          set.add(wake);
          signal?.addEventListener('abort', wake, { once: true });
        });
      } finally {
        this.metrics.longPolls.dec();
      }
      desired = this.desiredOf(host);
    }
    return desired.etag === ifNoneMatch ? { changed: false, etag: desired.etag } : { changed: true, desired };
  }

  /** Records a host's report and reconciles its group (the report may complete or fail a batch). */
  async report(host: string, body: HostReportBody): Promise<void> {
    const entry = this.hosts.get(host);
    if (entry === undefined)
      throw new VmBridgeError(VmBridgeErrorCode.UnknownHost, `host "${host}" is not registered`, { context: { host } });
    this.metrics.reports.inc({ group: entry.group });
    const report: HostReport = {
      runningVersion: body.runningVersion,
      healthy: body.healthy,
      phase: body.phase,
      at: this.clock.now(),
      ...(body.lastError !== undefined ? { lastError: body.lastError } : {}),
      ...(body.failedVersion !== undefined ? { failedVersion: body.failedVersion } : {}),
      ...(body.assignment !== undefined ? { assignment: body.assignment } : {}),
    };
    const pending = this.pendingReports.get(entry.group) ?? new Map<string, HostReport>();
    pending.set(host, report);
    this.pendingReports.set(entry.group, pending);
    await this.flushReports(entry.group);
  }

  /**
   * Applies every report received since the last flush in one read-decide-write: with thousands of hosts
   * reporting, one transition per report would queue up behind the group's lock faster than it drains.
   * A flush that is queued but not started takes in the reports that arrive meanwhile.
   */
  private flushReports(group: string): Promise<void> {
    const queued = this.queuedFlushes.get(group);
    if (queued !== undefined) return queued;
    let drained: ReadonlyMap<string, HostReport> | undefined;
    const flush = this.mutate(group, (loaded) => {
      if (drained === undefined) {
        // First attempt: take what is pending now; later reports go to the next flush. Retries reuse it.
        this.queuedFlushes.delete(group);
        drained = this.pendingReports.get(group) ?? new Map<string, HostReport>();
        this.pendingReports.delete(group);
      }
      const hosts: HostRecord[] = [];
      for (const [name, report] of drained) {
        const current = loaded.hosts.get(name)?.record;
        if (current !== undefined) hosts.push({ ...current, report });
      }
      return { outcome: undefined, changes: { hosts } };
    });
    this.queuedFlushes.set(group, flush);
    // A flush that failed before it started (bridge not active) must not answer every later report.
    void flush
      .catch(() => undefined)
      .finally(() => {
        if (this.queuedFlushes.get(group) === flush) this.queuedFlushes.delete(group);
      });
    return flush;
  }

  /** Re-reads and decides one group now. */
  async reconcile(group: string): Promise<void> {
    await this.mutate(group, () => ({ outcome: undefined }));
  }

  /** The stored state of a group (for the API, the demo and tests). */
  async snapshot(group: string): Promise<{ readonly group: GroupRecord; readonly hosts: readonly HostRecord[] }> {
    const loaded = await loadGroup(this.store, group);
    return { group: loaded.group, hosts: [...loaded.hosts.values()].map((h) => h.record) };
  }

  /** The progress event of a group as it stands. */
  async progress(group: string): Promise<VmProgress | undefined> {
    const s = await this.snapshot(group);
    return groupProgress(group, s.group, s.hosts, this.clock.now(), this.settings);
  }

  // ---- internals ----

  /** Hosts are answered only by the active bridge, once it has loaded its groups: 503 (retry) before. */
  private requireActive(): void {
    if (!this.active || !this.loaded) {
      throw new VmBridgeError(VmBridgeErrorCode.Fenced, 'this bridge is not active (yet)', { retryable: true });
    }
  }

  /**
   * Read-decide-write for one group, one at a time per group: `change` edits what was read, `decideGroup`
   * takes it from there, and everything is written in one fenced transition (retried on version conflicts).
   */
  private mutate<T>(
    group: string,
    change: (loaded: StoredGroup) => { outcome: T; changes?: GroupChanges; audit?: Parameters<typeof saveGroup>[4] },
  ): Promise<T> {
    if (!this.groups.has(group)) {
      return Promise.reject(
        new VmBridgeError(VmBridgeErrorCode.UnknownGroup, `no VM group "${group}" here`, { context: { group } }),
      );
    }
    const run = async (): Promise<T> => {
      for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
        const lease = this.lease;
        if (lease === undefined || this.stopped) {
          throw new VmBridgeError(VmBridgeErrorCode.Fenced, 'this bridge does not hold the lease', { retryable: true });
        }
        const loaded = await loadGroup(this.store, group);
        const { outcome, changes, audit } = change(loaded);
        const changedHosts = new Map((changes?.hosts ?? []).map((h) => [h.name, h] as const));
        const removed = new Set(changes?.removedHosts ?? []);
        const hosts = [...loaded.hosts.values()]
          .filter((h) => !removed.has(h.record.name))
          .map((h) => changedHosts.get(h.record.name) ?? h.record);
        for (const h of changedHosts.values()) if (!loaded.hosts.has(h.name)) hosts.push(h);
        const now = this.clock.now();
        const decision = decideGroup({ group: changes?.group ?? loaded.group, hosts, now, settings: this.settings });
        const result = await saveGroup(
          this.store,
          lease.epoch,
          loaded,
          {
            group: decision.group,
            hosts: decision.hosts,
            ...(changes?.credentials !== undefined ? { credentials: changes.credentials } : {}),
            ...(removed.size > 0 ? { removedHosts: [...removed] } : {}),
          },
          audit,
        );
        if (result !== 'unchanged' && !result.ok) {
          if (result.reason === 'version-conflict') continue;
          this.log.error(
            { group, currentEpoch: result.currentEpoch, epoch: lease.epoch },
            'fenced by a newer bridge; stopping',
          );
          this.lease = undefined;
          throw new VmBridgeError(VmBridgeErrorCode.Fenced, 'a newer bridge has taken over', { context: { group } });
        }
        if (changes?.credentials !== undefined) {
          for (const [host, c] of changes.credentials) {
            const rec = decision.hosts.find((h) => h.name === host);
            if (rec !== undefined) this.hosts.set(host, { group, tokenSha256: c.tokenSha256, record: rec });
          }
        }
        for (const host of removed) {
          this.hosts.delete(host);
          // its long poll answers now, and its token is refused from the next request on
          for (const wake of [...(this.waiters.get(host) ?? [])]) wake();
        }
        await this.afterCommit(group, loaded, decision, now);
        return outcome;
      }
      throw new VmBridgeError(VmBridgeErrorCode.StoreConflict, `group ${group}: writes kept conflicting`, {
        context: { group },
        retryable: true,
      });
    };
    const previous = this.chains.get(group) ?? Promise.resolve();
    const next = previous.then(run, run);
    this.chains.set(
      group,
      next.catch(() => undefined),
    );
    return next;
  }

  private async afterCommit(group: string, loaded: StoredGroup, decision: Decision, now: number): Promise<void> {
    // Wake the long polls of hosts whose desired state changed.
    for (const h of decision.hosts) {
      const entry = this.hosts.get(h.name);
      if (entry === undefined) continue;
      const changed = entry.record.assignment !== h.assignment || entry.record.desiredVersion !== h.desiredVersion;
      entry.record = h;
      if (changed) for (const wake of [...(this.waiters.get(h.name) ?? [])]) wake();
    }
    for (const e of decision.events) this.recordBatchEvent(group, decision.group, e, now);
    if (decision.group.halted && !loaded.group.halted)
      this.log.warn({ group, reason: decision.group.haltReason }, 'group halted');
    this.metrics.unavailable.set({ group }, decision.unavailable);
    this.metrics.halted.set({ group }, decision.group.halted ? 1 : 0);
    for (const state of Object.values(VmHostState)) {
      this.metrics.hosts.set({ group, state }, decision.hosts.filter((h) => h.state === state).length);
    }
    const progress = groupProgress(group, decision.group, decision.hosts, now, this.settings, decision.blockedReason);
    if (progress !== undefined) await this.publishProgress(group, progress, now);
  }

  private recordBatchEvent(group: string, record: GroupRecord, e: BatchEvent, now: number): void {
    const ids = { rolloutId: record.command?.rolloutId, wave: record.command?.wave, vmGroup: group };
    this.metrics.batches.inc({ group, outcome: e.kind.replace('batch-', '') });
    if (e.kind === BatchEventKind.Started) {
      this.log.info({ ...ids, batch: e.batch.number, hosts: e.batch.hosts }, 'batch started');
      return;
    }
    const outcome = e.kind === BatchEventKind.Succeeded ? 'succeeded' : 'failed';
    this.metrics.batchSeconds.observe({ group, outcome }, Math.max(0, now - e.batch.startedAt) / 1000);
    // One span per batch, from its start (stored, so it survives restarts) to its end, in the wave's trace.
    const span = this.tracer.startSpan(
      `vm batch ${group}`,
      {
        kind: SpanKind.INTERNAL,
        startTime: e.batch.startedAt,
        attributes: {
          ...rolloutAttributes(ids),
          'meshwave.vm.batch': e.batch.number,
          'meshwave.vm.batch.hosts': e.batch.hosts.length,
          'meshwave.vm.batch.outcome': outcome,
        },
      },
      extractTraceContext({ traceparent: e.batch.traceparent }),
    );
    if (e.reason !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: e.reason });
    span.end(now);
    if (outcome === 'failed')
      this.log.warn({ ...ids, batch: e.batch.number, reason: e.reason }, 'batch failed; reverted');
    else this.log.info({ ...ids, batch: e.batch.number }, 'batch succeeded');
  }

  private async publishProgress(group: string, progress: VmProgress, now: number): Promise<void> {
    const json = JSON.stringify(progress);
    const last = this.lastProgress.get(group);
    if (last !== undefined && last.json === json && now - last.at < this.settings.progressIntervalMs) return;
    this.lastProgress.set(group, { json, at: now });
    await this.publish([{ topic: Topic.Events, key: vmGroupKey(group), type: MessageType.VmProgress, data: progress }]);
  }

  private async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.bus === undefined) return;
    try {
      await this.bus.publish(messages);
    } catch (error) {
      // Progress is level-triggered: the next change or interval republishes it.
      this.log.warn({ err: error }, 'publishing to the events topic failed');
    }
  }

  private async refreshIndex(loaded: StoredGroup): Promise<void> {
    for (const [name, { credential }] of loaded.credentials) {
      const record = loaded.hosts.get(name)?.record;
      if (record !== undefined)
        this.hosts.set(name, { group: loaded.name, tokenSha256: credential.tokenSha256, record });
    }
    await Promise.resolve();
  }

  private scheduleTick(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.tick()
        .catch((error: unknown) => this.log.warn({ err: error }, 'bridge tick failed'))
        .finally(() => this.scheduleTick());
    }, this.settings.tickMs);
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    if (this.lease !== undefined) {
      const renewed = await this.store.renewLease(this.lease, this.settings.leaseTtlMs).catch(() => false);
      if (!renewed) {
        this.log.error({ lease: this.settings.leaseName }, 'lost the lease; stopping work until it is reacquired');
        this.lease = undefined;
      }
    }
    if (this.lease === undefined) {
      this.lease = await this.store
        .acquireLease(this.settings.leaseName, this.instance, this.settings.leaseTtlMs)
        .catch(() => undefined);
      if (this.lease === undefined) return;
      for (const name of this.groups.keys()) await this.refreshIndex(await loadGroup(this.store, name));
    }
    for (const group of this.groups.keys()) {
      try {
        await this.reconcile(group);
        this.tickErrors.delete(group);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (this.tickErrors.get(group) !== message) this.log.warn({ group, err: error }, 'reconcile failed');
        this.tickErrors.set(group, message);
      }
    }
  }
}

function reject(reason: CommandRejectionReason, detail: string): CommandOutcome {
  return { result: 'rejected', reason, detail };
}

/** A halt's target is `vmgroup/<name>` (or the bare name). */
function groupOfTarget(target: string): string {
  return target.startsWith('vmgroup/') ? target.slice('vmgroup/'.length) : target;
}
