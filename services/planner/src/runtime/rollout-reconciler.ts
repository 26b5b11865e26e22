import { MessageType, RolloutPhase, Topic, type Inventory } from '@meshwave/contracts';
import { SpanKind, trace, type Span } from '@opentelemetry/api';
import type { OutgoingMessage, Subscription } from '@meshwave/bus';
import { createKeyQueue, type KeyQueue } from '@meshwave/reconcile';
import type { Lease } from '@meshwave/store';
import { MeshwaveAttribute, rolloutAttributes, withRolloutIds, withSpan, type Logger } from '@meshwave/telemetry';
import { decide } from '../core/decide.js';
import { DEFAULT_HEALTH_SOURCES, type Decision } from '../core/decision.js';
import type { EngineCommand } from '../core/desired-state.js';
import { freezeOf } from '../core/fleet-freeze.js';
import type { HealthSource } from '../core/health-source.js';
import type { RolloutState } from '../core/rollout-state.js';
import { TERMINAL_PHASES } from '../core/transition-table.js';
import { anyTargetLags } from '../core/target-lag.js';
import { PlannerError, PlannerErrorCode } from '../errors.js';
import type { MetricSample, MetricSampler } from '../metrics/metric-sampler.js';
import { readFreeze } from './freeze-control.js';
import { auditOf } from './decision-audit.js';
import { membershipOf } from './membership-source.js';
import type { Leadership } from './leadership.js';
import { nowOf, type PlannerContext } from './planner-context.js';
import type { RolloutEvents } from './rollout-events.js';
import { HELD_AFTER_DEMOTION_MS, RolloutReads, type RolloutRead } from './rollout-reads.js';
import { SettledRollouts } from './settled-rollouts.js';
import { ROLLOUT_KIND, RolloutDoc, WAKE_TIMERS, stateWrite, type LoadedRollout } from './store-layout.js';
import { waveTraceOf, type WaveTrace } from './wave-traces.js';

const tracer = trace.getTracer('@meshwave/planner');

function commandMessage(c: EngineCommand, ttlSeconds: number): OutgoingMessage {
  const type =
    c.kind === 'cluster'
      ? MessageType.ClusterDesiredState
      : c.kind === 'vmgroup'
        ? MessageType.VmGroupDesiredState
        : MessageType.Halt;
  return {
    topic: Topic.Commands,
    key: c.target,
    audience: c.target,
    type,
    data: c.data,
    ttlSeconds,
  } as OutgoingMessage;
}

/** The pure engine's inputs and one reconcile's decision. */
interface Decided {
  readonly id: string;
  readonly lease: Lease;
  readonly loaded: LoadedRollout;
  readonly decision: Decision;
  readonly now: Date;
  readonly resendAll: boolean;
  readonly log: Logger;
}

export interface RolloutReconcilerOptions {
  readonly healthSources?: readonly HealthSource[];
  readonly metricSampler?: MetricSampler;
  /** the fleet as planning sees it, for membership when a wave may start (FleetInventory.stored) */
  readonly fleet: () => Promise<Inventory>;
  /**
   * Told when a rollout reaches a terminal phase, before its documents are dropped: its finished status is built
   * from them then (ADR 0075), not by the next status read from the whole scope fetched and parsed again
   */
  readonly onFinished?: (id: string) => Promise<unknown>;
}

/**
 * The leader's reconcile loop: one key per rollout in a de-duplicating queue; each pass re-reads the rollout,
 * asks the pure engine, stores the next state with the epoch, publishes the commands and sets the wake timer.
 */
export class RolloutReconciler {
  private readonly queue: KeyQueue;
  private readonly healthSources: readonly HealthSource[];
  private readonly metricSampler: MetricSampler | undefined;
  private ticker: NodeJS.Timeout | undefined;
  /** rollouts this leader knows (loaded at election, added at creation) */
  private readonly rollouts = new Set<string>();
  /** rollouts whose desired state must be sent again whatever changed (takeover, failed publish) */
  private readonly resendPending = new Set<string>();
  /** when a report with a failed unit arrived, per rollout: for the failure → halt metric */
  private readonly firstFailure = new Map<string, number>();
  /** the driven rollouts' documents, fetched and validated once per version */
  private readonly reads: RolloutReads;
  /** finished rollouts with nothing left to do: reports after the end cost them a version read (ADR 0078) */
  private readonly settled: SettledRollouts;
  /** phase per rollout, for the rollouts-by-phase gauge */
  private readonly phases = new Map<string, RolloutPhase>();
  /** since when this process, as leader, hears the agents (silence counts from here) */
  private heardSince = 0;
  private readonly fleet: () => Promise<Inventory>;
  private readonly onFinished: ((id: string) => Promise<unknown>) | undefined;

  constructor(
    private readonly context: PlannerContext,
    private readonly leadership: Pick<Leadership, 'current' | 'isLeader' | 'lost'>,
    private readonly events: Pick<RolloutEvents, 'emitDecision'>,
    options: RolloutReconcilerOptions,
  ) {
    this.healthSources = options.healthSources ?? DEFAULT_HEALTH_SOURCES;
    this.metricSampler = options.metricSampler;
    this.fleet = options.fleet;
    this.onFinished = options.onFinished;
    this.reads = new RolloutReads(context.store);
    this.settled = new SettledRollouts(context.store);
    this.queue = createKeyQueue((id) => this.reconcile(id), {
      clock: context.clock,
      concurrency: context.config.concurrency,
      minIntervalMs: context.config.reconcileIntervalMs,
      baseBackoffMs: 100,
      maxBackoffMs: 10_000,
      retryable: (e) => !(e instanceof PlannerError) || e.retryable,
      onError: (id, error, attempt) =>
        context.logger.warn({ rolloutId: id, attempt, err: error }, 'reconcile failed; retrying'),
    });
  }

  /** A new leader re-sends every rollout's desired state with its epoch and starts the wake-timer ticker. */
  async takeOver(): Promise<void> {
    this.reads.keepAll();
    this.queue.restart();
    // Agents' silence counts from now: before it, this process was not listening.
    this.heardSince = this.context.clock.now();
    // Whatever the old leader stored but never published reaches the agents, and agents learn the new epoch
    // (fencing the old leader out).
    const ids = await this.context.store.listScopes(ROLLOUT_KIND);
    for (const id of ids) {
      this.rollouts.add(id);
      this.resendPending.add(id);
      this.queue.add(id);
    }
    this.ticker = setInterval(() => void this.tick(), this.context.config.timerTickMs);
    this.ticker.unref();
  }

  /** A demoted leader stops its ticker and queue (after closing `subscription`, the report intake). */
  async standDown(subscription: Subscription | undefined): Promise<void> {
    clearInterval(this.ticker);
    this.ticker = undefined;
    await this.queue.stop();
    this.settled.forget();
    // What it held is kept a while, checked against the store's versions at every read: a leader whose renewal was
    // refused during a stall of its loop usually wins the lease back at once, and its new term then fetches only
    // what changed instead of every rollout whole (a 12.7 MB plan at fleet (b)), which stalled it past the lease
    // again and again. A replica that does not lead again drops it all.
    this.reads.forgetAllAfter(HELD_AFTER_DEMOTION_MS);
    await subscription
      ?.close()
      .catch((e: unknown) => this.context.logger.warn({ err: e }, 'closing the event subscription failed'));
  }

  /** Looks at a rollout again; `urgent` jumps the queue (a failure, an operator's action). */
  enqueue(id: string, urgent = false): void {
    this.queue.add(id, urgent);
  }

  /** A rollout this leader just created. */
  adopt(id: string): void {
    this.rollouts.add(id);
    this.queue.add(id);
  }

  /** a report just written by this leader: the next reconcile of `id` holds it without reading it (ADR 0048) */
  primeReport(id: string, name: string, version: number, value: unknown): void {
    this.reads.prime(id, name, version, value);
  }

  /** whether the rollout is one this leader is driving */
  drives(id: string): boolean {
    return this.rollouts.has(id);
  }

  /** the rollouts this leader is driving */
  driven(): Iterable<string> {
    return this.rollouts;
  }

  /** Reconciles every rollout this leader drives again (a judgement held meanwhile, a freeze changed). */
  rejudgeAll(urgent = false): void {
    for (const id of this.rollouts) this.enqueue(id, urgent);
  }

  /** when a failure for the rollout was first reported (keeps the first); true when this is the first */
  noteFailure(id: string, at: number): boolean {
    if (this.firstFailure.has(id)) return false;
    this.firstFailure.set(id, at);
    return true;
  }

  /** the rollout as stored now (a driven one: only what changed since the last read is fetched) */
  async load(id: string): Promise<LoadedRollout | undefined> {
    return (await this.read(id)).loaded;
  }

  /** as `load`, with the documents it was loaded from */
  read(id: string): Promise<RolloutRead> {
    return this.reads.read(id, this.context.health, false);
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  private async tick(): Promise<void> {
    if (!this.leadership.isLeader()) return;
    try {
      const due = await this.context.store.dueTimers(WAKE_TIMERS, this.context.clock.now());
      for (const id of due) this.queue.add(id);
    } catch (error) {
      this.context.logger.warn({ err: error }, 'reading due timers failed');
    }
  }

  private async reconcile(id: string): Promise<void> {
    const lease = this.leadership.current;
    if (!lease) return;
    if (!this.resendPending.has(id) && (await this.settled.still(id))) return;
    const { store, metrics } = this.context;
    const endTimer = metrics.reconcileSeconds.startTimer();
    const { docs, loaded } = await this.reads.read(id, this.context.health, true);
    if (!loaded) {
      endTimer();
      return;
    }
    const decided = await this.decide(id, lease, loaded);
    const { decision } = decided;
    const waveTrace = waveTraceOf(tracer, docs, loaded.record, decision);
    /** the state's version once this decision is stored; undefined: a newer leader wrote it */
    let stateVersion: number | undefined = loaded.stateVersion;
    await withSpan(
      tracer,
      'reconcile rollout',
      {
        kind: SpanKind.INTERNAL,
        parent: waveTrace.parent,
        attributes: {
          ...rolloutAttributes({ rolloutId: id, wave: decision.state.wave }),
          [MeshwaveAttribute.Epoch]: lease.epoch,
        },
      },
      async (span) => {
        if (decision.changed) {
          stateVersion = await this.store(decided, waveTrace, span);
          if (stateVersion === undefined) return;
        }
        if (decision.commands.length > 0) await this.publish(decided, span);
        if (decision.state.phase !== RolloutPhase.Running) this.firstFailure.delete(id);
      },
    );
    if (decision.wakeAt) await store.setTimer(WAKE_TIMERS, id, decision.wakeAt.getTime());
    else await store.clearTimer(WAKE_TIMERS, id);
    if (TERMINAL_PHASES.has(decision.state.phase)) {
      this.rollouts.delete(id);
      const settled = decision.commands.length === 0 && !anyTargetLags(decision.state, loaded.observations);
      if (settled && stateVersion !== undefined) this.settled.settle(id, stateVersion);
      // At fleet (b) a status read after the end fetched and parsed the whole plan again beside the copy still
      // held: the planner's peak RSS (issue 15). Its finished status is built from what is held, then dropped.
      await this.onFinished?.(id).catch((error: unknown) =>
        this.context.logger.warn({ rolloutId: id, err: error }, 'building the finished status failed'),
      );
      this.reads.forget(id);
    }
    this.trackPhase(id, decision.state.phase);
    this.events.emitDecision(id, decision);
    endTimer();
  }

  /**
   * I/O before the pure decision. The metric gates' samples never make it wait (a reconcile publishing a reported
   * failure's halt must not wait for a Prometheus query): the sampler answers at once with what it has.
   */
  private async decide(id: string, lease: Lease, loaded: LoadedRollout): Promise<Decided> {
    const { config, logger } = this.context;
    const now = nowOf(this.context);
    const sampled = this.sampleMetrics(id, loaded, now);
    const metrics = sampled?.observation;
    const freeze = freezeOf(await readFreeze(this.context.store));
    const membership = await membershipOf(this.context, loaded.state, this.heardSince, this.fleet);
    const resendAll = this.resendPending.delete(id);
    let decision: Decision;
    try {
      decision = decide({
        record: loaded.record,
        state: loaded.state,
        observations: loaded.observations,
        now,
        epoch: lease.epoch,
        resendAll,
        config: { resyncAfterMs: config.resyncAfterMs, gateRetryMs: config.gateRetryMs, maxVerdicts: 500 },
        healthSources: this.healthSources,
        ...(metrics !== undefined ? { metrics } : {}),
        ...(sampled?.pending === true ? { metricsPending: true } : {}),
        plannerLoad: this.context.loopDelay.load(),
        ...(freeze !== undefined ? { freeze } : {}),
        membership,
        ...(config.policy !== undefined ? { emergencies: config.policy.emergencies } : {}),
      });
    } catch (error) {
      if (resendAll) this.resendPending.add(id);
      throw error;
    }
    const log = withRolloutIds(logger, { rolloutId: id, wave: decision.state.wave });
    return { id, lease, loaded, decision, now, resendAll, log };
  }

  /** What the sampler has now; a failed background fetch is logged and fetched again (a final verdict waits). */
  private sampleMetrics(id: string, loaded: LoadedRollout, now: Date): MetricSample | undefined {
    try {
      return this.metricSampler?.sample(loaded.record, loaded.state, now, () => this.enqueue(id));
    } catch (error) {
      this.context.logger.warn({ rolloutId: id, err: error }, "fetching the metric gates' samples failed");
      return { pending: true };
    }
  }

  /**
   * Stores the next state (fenced by the epoch, audited); its new version, or undefined when a newer leader wrote
   * the rollout.
   */
  private async store(decided: Decided, waveTrace: WaveTrace, span: Span): Promise<number | undefined> {
    const { id, lease, loaded, decision, now, resendAll, log } = decided;
    const writes = [stateWrite(decision.state, lease.epoch, loaded.stateVersion), ...waveTrace.writes];
    const audit = auditOf(id, decision, now);
    const result = await this.context.store.transition({
      scope: id,
      epoch: lease.epoch,
      writes,
      ...(audit !== undefined ? { audit } : {}),
    });
    if (!result.ok) {
      if (resendAll) this.resendPending.add(id);
      if (result.reason === 'stale-epoch') {
        log.warn({ currentEpoch: result.currentEpoch }, 'write refused: a newer leader wrote this rollout');
        void this.leadership.lost('stale epoch');
        return undefined;
      }
      throw new PlannerError(PlannerErrorCode.Conflict, `state of ${id} changed while deciding`, { retryable: true });
    }
    this.record(decision, span, log);
    return result.versions[RolloutDoc.State] ?? loaded.stateVersion + 1;
  }

  /** Transitions and verdicts as span events, metrics and log lines. */
  private record(decision: Decision, span: Span, log: Logger): void {
    const { metrics } = this.context;
    for (const t of decision.transitions) {
      span.addEvent('transition', {
        from: t.from,
        to: t.to,
        trigger: t.trigger,
        reason: t.reason,
        [MeshwaveAttribute.Wave]: t.wave,
      });
      metrics.transitions.inc({ trigger: t.trigger });
      log.info({ from: t.from, to: t.to, trigger: t.trigger, reason: t.reason }, 'transition');
    }
    for (const v of decision.verdicts) {
      span.addEvent('gate verdict', {
        outcome: v.outcome,
        reason: v.reason,
        final: v.final,
        [MeshwaveAttribute.Wave]: v.wave,
      });
      metrics.gateVerdicts.inc({ outcome: v.outcome, reason: v.reason, final: String(v.final) });
    }
  }

  /** Publishes the decision's commands; a failed publish sends everything again on the next pass. */
  private async publish({ id, decision, resendAll, log }: Decided, span: Span): Promise<void> {
    const { bus, config, metrics } = this.context;
    const endPublish = metrics.publishSeconds.startTimer();
    try {
      await bus.publish(decision.commands.map((c) => commandMessage(c, config.commandTtlSeconds)));
    } catch (error) {
      this.resendPending.add(id);
      throw error;
    }
    endPublish();
    const halts = decision.commands.filter((c) => c.kind === 'halt').length;
    for (const c of decision.commands)
      metrics.commandsPublished.inc({ kind: c.kind, resync: String(c.kind !== 'halt' && resendAll) });
    span.setAttribute('meshwave.commands', decision.commands.length);
    const failedAt = this.firstFailure.get(id);
    if (halts > 0 && failedAt !== undefined) {
      metrics.failureToHaltSeconds.observe((performance.now() - failedAt) / 1000);
      log.warn({ halts, ms: Math.round(performance.now() - failedAt) }, 'halt published');
    }
  }

  private trackPhase(id: string, phase: RolloutState['phase']): void {
    const gauge = this.context.metrics.rolloutsByPhase;
    this.phases.set(id, phase);
    gauge.reset();
    const counts = new Map<string, number>();
    for (const p of this.phases.values()) counts.set(p, (counts.get(p) ?? 0) + 1);
    for (const [p, n] of counts) gauge.set({ phase: p }, n);
  }
}
