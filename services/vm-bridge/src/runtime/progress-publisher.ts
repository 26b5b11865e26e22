import { MessageType, Topic, VmHostState, vmGroupKey, type VmProgress } from '@meshwave/contracts';
import { newSeq, ReportChain, type ChainStep } from '@meshwave/reconcile';
import type { OutgoingMessage } from '@meshwave/bus';
import { extractTraceContext, rolloutAttributes } from '@meshwave/telemetry';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  BatchEventKind,
  isAvailable,
  type BatchEvent,
  type Decision,
  type GroupRecord,
  type HostRecord,
} from '../core/batch-decision.js';
import { groupProgress, hostProgressOf, progressHead } from '../core/group-progress.js';
import type { ReportDecision } from '../core/report-decision.js';
import { degradedOf, type BridgeContext } from './bridge-context.js';
import { MembershipPublisher } from './membership-publisher.js';

type HostProgress = VmProgress['hosts'][number];

/** What the publisher knows of a group's progress on the events topic. */
interface GroupProgressState {
  /** the group's hosts as the planner holds them (ADR 0048) */
  readonly chain: ReportChain<HostProgress>;
  /** the hosts' entries of the progress last made, by name (a write of a few hosts changes theirs only) */
  readonly entries?: Map<string, HostProgress>;
  /** the rest of the progress last delivered (a few fields) */
  readonly head?: string;
  /** when the whole progress was last delivered */
  readonly wholeAt?: number;
  /** failed publishes in a row */
  readonly failures: number;
  /** the progress that failed to go, and when to try it again; a progress that changed meanwhile goes at once */
  readonly retry?: { readonly json: string; readonly at: number };
}

/** first delay after a failed progress publish, doubling per failure up to `progressIntervalMs` */
const RETRY_BASE_MS = 1_000;

/**
 * What follows a committed write of a group: metrics, logs and a span per batch, and the group's progress on the
 * events topic: when it changed, again every `progressIntervalMs` (level-triggered: a report the planner lost is
 * made up for), and after a failed publish at the next tick past its backoff, until one goes through.
 */
export class ProgressPublisher {
  private readonly progress = new Map<string, GroupProgressState>();
  private readonly seq: () => number;
  /** each group's hosts for the planner's inventory, rollout or not */
  private readonly membership: MembershipPublisher;
  /** each group's hosts by state and its unavailable hosts, as the gauges were last set */
  private readonly counts = new Map<string, { readonly byState: Map<string, number>; unavailable: number }>();

  constructor(private readonly ctx: BridgeContext) {
    this.seq = newSeq(ctx.clock);
    this.membership = new MembershipPublisher(ctx, (messages) => this.publish(messages));
  }

  async afterCommit(group: string, previous: GroupRecord, decision: Decision, now: number): Promise<void> {
    const { log, metrics, settings } = this.ctx;
    for (const e of decision.events) this.recordBatchEvent(group, decision.group, e, now);
    if (decision.group.halted && !previous.halted)
      log.warn({ group, reason: decision.group.haltReason }, 'group halted');
    metrics.halted.set({ group }, decision.group.halted ? 1 : 0);
    this.recount(group, decision.hosts, decision.unavailable);
    this.membership.afterCommit(group, decision.hosts, now);
    const progress = groupProgress(
      group,
      decision.group,
      decision.hosts,
      now,
      settings,
      decision.blockedReason,
      decision.starvedAt,
    );
    const degraded = degradedOf(this.ctx);
    if (progress !== undefined)
      await this.publishProgress(group, degraded === undefined ? progress : { ...progress, degraded }, now);
  }

  /**
   * After a committed write that changed only some hosts (`decideReports`): the same as `afterCommit`, in the work of
   * those hosts: gauges moved by their change, the membership and a progress delta of their entries. `all` (the
   * whole group) is read only when the whole progress is due (first, after a failed publish, every interval).
   */
  async afterReports(
    group: string,
    decision: ReportDecision,
    before: ReadonlyMap<string, HostRecord | undefined>,
    now: number,
    all: () => readonly HostRecord[],
  ): Promise<void> {
    const { metrics, settings } = this.ctx;
    const counts = this.counts.get(group);
    if (counts === undefined) {
      const hosts = all();
      this.recount(group, hosts, hosts.filter((h) => !isAvailable(h, now, settings)).length);
    } else {
      for (const h of decision.hosts) {
        const was = before.get(h.name);
        if (was !== undefined) counts.byState.set(was.state, (counts.byState.get(was.state) ?? 0) - 1);
        counts.byState.set(h.state, (counts.byState.get(h.state) ?? 0) + 1);
        counts.unavailable +=
          Number(!isAvailable(h, now, settings)) - Number(was !== undefined && !isAvailable(was, now, settings));
      }
      for (const [state, count] of counts.byState) metrics.hosts.set({ group, state }, count);
      metrics.unavailable.set({ group }, counts.unavailable);
    }
    this.membership.afterChanges(group, decision.hosts, now, all, decision.group.batch !== undefined);
    const head = progressHead(group, decision.group);
    if (head === undefined) return;
    const degraded = degradedOf(this.ctx);
    const state = this.progress.get(group);
    if (
      state?.entries === undefined ||
      state.retry !== undefined ||
      state.wholeAt === undefined ||
      now - state.wholeAt >= settings.progressIntervalMs
    ) {
      const progress = groupProgress(group, decision.group, all(), now, settings, undefined, decision.starvedAt);
      if (progress !== undefined)
        await this.publishProgress(group, degraded === undefined ? progress : { ...progress, degraded }, now);
      return;
    }
    const changed: string[] = [];
    for (const h of decision.hosts) {
      changed.push(h.name);
      state.entries.set(h.name, hostProgressOf(h, now, settings, decision.starvedAt));
    }
    const rest = degraded === undefined ? head : { ...head, degraded };
    await this.send(group, state, state.chain.nextChanged(state.entries, changed), rest, now, state.entries);
  }

  private recount(group: string, hosts: readonly HostRecord[], unavailable: number): void {
    const { metrics } = this.ctx;
    const byState = new Map<string, number>(Object.values(VmHostState).map((state) => [state, 0] as const));
    for (const h of hosts) byState.set(h.state, (byState.get(h.state) ?? 0) + 1);
    for (const [state, count] of byState) metrics.hosts.set({ group, state }, count);
    metrics.unavailable.set({ group }, unavailable);
    this.counts.set(group, { byState, unavailable });
  }

  /** Publishes on the events topic; a failure is logged, never thrown. True once the bus has the messages. */
  async publish(messages: readonly OutgoingMessage[]): Promise<boolean> {
    if (this.ctx.bus === undefined) return true;
    try {
      await this.ctx.bus.publish(messages);
      return true;
    } catch (error) {
      this.ctx.log.warn({ err: error }, 'publishing to the events topic failed');
      return false;
    }
  }

  private recordBatchEvent(group: string, record: GroupRecord, e: BatchEvent, now: number): void {
    const { log, metrics, tracer } = this.ctx;
    const ids = { rolloutId: record.command?.rolloutId, wave: record.command?.wave, vmGroup: group };
    metrics.batches.inc({ group, outcome: e.kind.replace('batch-', '') });
    if (e.kind === BatchEventKind.Started) {
      log.info({ ...ids, batch: e.batch.number, hosts: e.batch.hosts }, 'batch started');
      return;
    }
    const outcome = e.kind === BatchEventKind.Succeeded ? 'succeeded' : 'failed';
    metrics.batchSeconds.observe({ group, outcome }, Math.max(0, now - e.batch.startedAt) / 1000);
    // One span per batch, from its start (stored, so it survives restarts) to its end, in the wave's trace.
    const span = tracer.startSpan(
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
    if (outcome === 'failed') log.warn({ ...ids, batch: e.batch.number, reason: e.reason }, 'batch failed; reverted');
    else log.info({ ...ids, batch: e.batch.number }, 'batch succeeded');
  }

  /**
   * A group's progress (ADR 0048): a delta of the hosts that changed since the report the bus took last; whole
   * at first, after a failed publish and every `progressIntervalMs` (level-triggered: a report the planner lost
   * or could not take is made up for, and a planner that missed a delta waits for this one).
   */
  private async publishProgress(group: string, progress: VmProgress, now: number): Promise<void> {
    const { progressIntervalMs } = this.ctx.settings;
    const state = this.progress.get(group) ?? {
      failures: 0,
      chain: new ReportChain<HostProgress>((h) => h.name, this.seq),
    };
    // a publish that failed is tried again after its backoff, unless the progress changed meanwhile
    const json = state.retry === undefined ? undefined : JSON.stringify(progress);
    if (state.retry !== undefined && state.retry.json === json && now < state.retry.at) return;
    const { hosts, ...rest } = progress;
    const whole = state.wholeAt === undefined || now - state.wholeAt >= progressIntervalMs;
    const entries = new Map(hosts.map((h) => [h.name, h] as const));
    await this.send(
      group,
      state,
      state.chain.next(hosts, whole),
      rest,
      now,
      entries,
      () => json ?? JSON.stringify(progress),
    );
  }

  /** Sends one step of the group's chain (unless it says nothing new), and records what went or when to retry. */
  private async send(
    group: string,
    state: GroupProgressState,
    step: ChainStep<HostProgress>,
    rest: Omit<VmProgress, 'hosts'>,
    now: number,
    entries: Map<string, HostProgress>,
    retryJson: () => string = () => JSON.stringify({ ...rest, hosts: [...entries.values()] }),
  ): Promise<void> {
    const { progressIntervalMs } = this.ctx.settings;
    const head = JSON.stringify(rest);
    if (step.kind === 'delta' && step.upserted.length === 0 && step.removed.length === 0 && head === state.head) {
      state.chain.discard(step.seq);
      this.progress.set(group, { ...state, entries });
      return;
    }
    const key = vmGroupKey(group);
    const message =
      step.kind === 'whole'
        ? {
            topic: Topic.Events,
            key,
            type: MessageType.VmProgress,
            data: { ...rest, hosts: [...step.entries], seq: step.seq },
          }
        : {
            topic: Topic.Events,
            key,
            type: MessageType.VmProgressDelta,
            data: {
              ...rest,
              seq: step.seq,
              base: step.base,
              upserted: [...step.upserted],
              removed: step.removed.map((h) => h.name),
            },
          };
    if (await this.publish([message])) {
      state.chain.taken(step.seq);
      this.progress.set(group, {
        chain: state.chain,
        entries,
        head,
        wholeAt: step.kind === 'whole' ? now : state.wholeAt,
        failures: 0,
      });
      return;
    }
    const backoff = Math.min(progressIntervalMs, RETRY_BASE_MS * 2 ** Math.min(state.failures, 16));
    const retry = { json: retryJson(), at: now + backoff };
    this.progress.set(group, { chain: state.chain, failures: state.failures + 1, retry });
  }
}
