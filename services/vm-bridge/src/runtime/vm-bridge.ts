import {
  MessageType,
  Topic,
  vmGroupKey,
  type HaltCommand,
  type HostDesired,
  type HostRegistrationBody,
  type HostRegistrationResult,
  type HostReportBody,
  type VmGroupDesiredState,
  type VmProgress,
} from '@meshwave/contracts';
import type { EventBus, IncomingMessage, Subscription } from '@meshwave/bus';
import { systemClock, type Clock } from '@meshwave/reconcile';
import type { StateStore } from '@meshwave/store';
import { monitorLoopDelay, silentLogger, type EventLoopDelay, type Logger } from '@meshwave/telemetry';
import { trace, type Tracer } from '@opentelemetry/api';
import type { BundleCatalog } from '../adapters/bundle-catalog.js';
import { loadGroup } from '../adapters/group-store.js';
import {
  DEFAULT_BRIDGE_SETTINGS,
  commandsConsumerGroup,
  type BridgeSettings,
  type VmGroupConfig,
} from '../config/bridge-settings.js';
import type { GroupRecord, HostRecord } from '../core/batch-decision.js';
import { groupProgress } from '../core/group-progress.js';
import { createBridgeMetrics, type BridgeMetrics } from '../metrics/bridge-metrics.js';
import type { BridgeContext } from './bridge-context.js';
import { CommandIntake, type CommandOutcome } from './command-intake.js';
import { GroupTicker } from './group-ticker.js';
import { GroupWriter } from './group-writer.js';
import { HostEnrollment, type HostRemoval } from './host-enrollment.js';
import { HostIndex } from './host-index.js';
import { createBridgeElection, waitForLease } from './leadership.js';
import { awaitDesired, desiredOf, type DesiredAnswer } from './long-poll.js';
import { ProgressPublisher } from './progress-publisher.js';
import { ReportIntake } from './report-intake.js';

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

/**
 * The VM bridge: keeps each host's desired version in the StateStore, rolls batches through the pure
 * `decideGroup`, answers hosts (through the HTTP app or in process) and reports progress to the planner.
 * One replica acts at a time (leader lease; its epoch fences every write). This class only wires the parts.
 */
export class VmBridge {
  readonly settings: BridgeSettings;
  readonly metrics: BridgeMetrics;
  private readonly ctx: BridgeContext;
  private readonly writer: GroupWriter;
  private readonly commands: CommandIntake;
  private readonly enrollment: HostEnrollment;
  private readonly reports: ReportIntake;
  private readonly ticker: GroupTicker;
  private readonly stopController = new AbortController();
  private subscription: Subscription | undefined;
  /** the consumer group being joined or left, one switch after another */
  private consuming: Promise<void> = Promise.resolve();
  private readonly loopDelay: EventLoopDelay;

  constructor(options: VmBridgeOptions) {
    const settings = { ...DEFAULT_BRIDGE_SETTINGS, ...options.settings };
    const log = (options.logger ?? silentLogger()).child({ component: 'vm-bridge' });
    this.settings = settings;
    this.metrics = options.metrics ?? createBridgeMetrics();
    const metrics = this.metrics;
    this.loopDelay = monitorLoopDelay({
      onWindow: () => metrics.eventLoopDelay.set(this.loopDelay.lastWindow().p99Ms / 1000),
    });
    this.ctx = {
      store: options.store,
      bus: options.bus,
      catalog: options.catalog,
      groups: new Map(options.groups.map((g) => [g.name, g] as const)),
      clock: options.clock ?? systemClock,
      log,
      tracer: options.tracer ?? trace.getTracer('meshwave-vm-bridge'),
      metrics: this.metrics,
      settings,
      election: createBridgeElection(options.store, settings, options.instance ?? `vm-bridge-${process.pid}`, log),
      hosts: new HostIndex(),
      loopDelayMs: () => this.loopDelay.delayMs(),
      lifecycle: { stopped: false, loaded: false },
    };
    const publisher = new ProgressPublisher(this.ctx);
    this.writer = new GroupWriter(this.ctx, publisher);
    this.commands = new CommandIntake(this.ctx, this.writer, publisher);
    this.enrollment = new HostEnrollment(this.ctx, this.writer);
    this.reports = new ReportIntake(this.ctx, this.writer);
    this.ticker = new GroupTicker(
      this.ctx,
      (group) => this.reconcile(group),
      (held) => this.consumeCommands(held),
    );
  }

  /** Takes the lease (waiting for a previous holder's to expire), loads every group, then starts consuming. */
  async start(): Promise<void> {
    if (!(await waitForLease(this.ctx, this.stopController.signal))) return;
    this.ctx.lifecycle.loaded = true;
    await this.consumeCommands(true);
    this.ticker.start();
  }

  /**
   * Consumes commands while this bridge holds the lease, and leaves the consumer group when it loses it: a
   * deposed bridge that kept its partitions would hold their commands from the bridge that took over (a command
   * it cannot apply is retried, not dead-lettered, for as long as it holds the partition).
   */
  private consumeCommands(held: boolean): Promise<void> {
    // one switch at a time: a join still under way is never raced by a leave, nor outlives `stop()`
    const next = (): Promise<void> => this.switchConsumer(held);
    this.consuming = this.consuming.then(next, next);
    return this.consuming;
  }

  private async switchConsumer(held: boolean): Promise<void> {
    if (this.ctx.bus === undefined || held === (this.subscription !== undefined)) return;
    if (!held) {
      const subscription = this.subscription;
      this.subscription = undefined;
      await subscription?.close();
      return;
    }
    const subscription = await this.ctx.bus.subscribe({
      topic: Topic.Commands,
      groupId: this.settings.consumerGroup ?? commandsConsumerGroup(this.groupNames),
      audiences: [...this.ctx.groups.keys()].map(vmGroupKey),
      types: [MessageType.VmGroupDesiredState, MessageType.Halt],
      fromBeginning: true,
      handler: async (message) => {
        await this.handleMessage(message);
      },
    });
    // stopped while joining: the subscription goes at once instead of consuming after stop()
    if (this.ctx.lifecycle.stopped) await subscription.close();
    else this.subscription = subscription;
  }

  /** True while this replica holds the lease and acts. */
  get active(): boolean {
    return this.ctx.election.current !== undefined && !this.ctx.lifecycle.stopped;
  }

  /**
   * Active, its groups loaded, and (with a bus) in its commands consumer group: a halt sent now is taken. Before the
   * join completes the bridge holds the lease but consumes nothing.
   */
  get ready(): boolean {
    return this.active && this.ctx.lifecycle.loaded && (this.ctx.bus === undefined || this.subscription !== undefined);
  }

  get groupNames(): readonly string[] {
    return [...this.ctx.groups.keys()];
  }

  async stop(): Promise<void> {
    this.loopDelay.stop();
    await this.halt();
    await this.ctx.election.stop();
  }

  /**
   * Stops without releasing the lease, as a crashed bridge would leave it: a successor waits for it to
   * expire. For tests of restarts.
   */
  async abandon(): Promise<void> {
    await this.halt();
    await this.ctx.election.stop({ release: false });
  }

  /** The tracer of the bridge's spans (the HTTP routes' too). */
  get tracer(): Tracer {
    return this.ctx.tracer;
  }

  /** Entry point for the bus: verifies the key, applies, and reports a rejection on the events topic. */
  handleMessage(message: IncomingMessage): Promise<CommandOutcome> {
    return this.commands.handleMessage(message);
  }

  /** Applies a desired-state command (fenced by epoch, ordered by generation). */
  applyCommand(command: VmGroupDesiredState, traceparent?: string): Promise<CommandOutcome> {
    return this.commands.applyCommand(command, traceparent);
  }

  /** Halts the group at once: no new batch starts; the one in flight completes or reverts. */
  applyHalt(halt: HaltCommand): Promise<CommandOutcome> {
    return this.commands.applyHalt(halt);
  }

  /** Enrolls a host into a group (idempotent for the same token hash). */
  registerHost(
    group: string,
    authorization: string | undefined,
    body: HostRegistrationBody,
  ): Promise<HostRegistrationResult> {
    return this.enrollment.registerHost(group, authorization, body);
  }

  /** Takes a host out of its group, with the group's enrollment token (see `HostEnrollment.removeHost`). */
  removeHost(group: string, host: string, authorization: string | undefined): Promise<HostRemoval> {
    return this.enrollment.removeHost(group, host, authorization);
  }

  /** Checks that `authorization` is `host`'s own token: 401 when it is nobody's, 403 when it is another host's. */
  authenticateHost(host: string, authorization: string | undefined): void {
    this.enrollment.authenticateHost(host, authorization);
  }

  /** The desired state of `host` now. */
  desiredOf(host: string): HostDesired {
    return desiredOf(this.ctx, host);
  }

  /** Long poll: answers at once when the desired state differs from `ifNoneMatch`, else waits up to `waitMs`. */
  awaitDesired(
    host: string,
    ifNoneMatch: string | undefined,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<DesiredAnswer> {
    return awaitDesired(this.ctx, host, ifNoneMatch, waitMs, signal);
  }

  /** Records a host's report and reconciles its group (the report may complete or fail a batch). */
  report(host: string, body: HostReportBody): Promise<void> {
    return this.reports.report(host, body);
  }

  /** Re-reads and decides one group now. */
  async reconcile(group: string): Promise<void> {
    await this.writer.mutate(group, () => ({ outcome: undefined }));
  }

  /** The stored state of a group (for the API, the demo and tests). */
  async snapshot(group: string): Promise<{ readonly group: GroupRecord; readonly hosts: readonly HostRecord[] }> {
    const loaded = await loadGroup(this.ctx.store, group);
    return { group: loaded.group, hosts: [...loaded.hosts.values()].map((h) => h.record) };
  }

  /** The progress event of a group as it stands. */
  async progress(group: string): Promise<VmProgress | undefined> {
    const s = await this.snapshot(group);
    return groupProgress(group, s.group, s.hosts, this.ctx.clock.now(), this.settings);
  }

  /** Stops acting: no more ticks, long polls answered, the subscription closed and the writes under way done. */
  private async halt(): Promise<void> {
    this.ctx.lifecycle.stopped = true;
    this.stopController.abort();
    this.ticker.stop();
    this.ctx.hosts.wakeAll();
    await this.consuming.catch(() => undefined);
    const subscription = this.subscription;
    this.subscription = undefined;
    await subscription?.close();
    await this.writer.settle();
  }
}
