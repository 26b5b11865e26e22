import { EventEmitter } from 'node:events';
import type { RolloutEvent } from '@meshwave/contracts';
import type { Decision } from '../core/decision.js';
import { transitionCount, transitionsSince } from '../core/transition-history.js';
import type { PlannerContext } from './planner-context.js';
import { ROLLOUT_KIND, RolloutDoc } from './store-layout.js';
import { StoredRolloutState, parseStored } from './stored-documents.js';

/**
 * The event stream (SSE): transitions, verdicts and actions as they happen. The leader emits what it decides;
 * a follower polls the stored states and emits the transitions it had not seen.
 */
export class RolloutEvents {
  private readonly emitter = new EventEmitter();
  /** follower event stream: transitions seen per rollout (a count, as `transitionCount`) */
  private readonly seenHistory = new Map<string, number>();
  private followerTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly context: Pick<PlannerContext, 'store' | 'config' | 'logger'>,
    private readonly isLeader: () => boolean,
  ) {
    this.emitter.setMaxListeners(0);
  }

  start(): void {
    this.followerTimer = setInterval(() => void this.followerPoll(), this.context.config.followerPollMs);
    this.followerTimer.unref();
  }

  stop(): void {
    clearInterval(this.followerTimer);
  }

  emit(event: RolloutEvent): void {
    this.emitter.emit('event', event);
  }

  onEvent(listener: (event: RolloutEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  /** What one reconcile decided, as events: its transitions, verdicts, or a progress note. */
  emitDecision(id: string, decision: Decision): void {
    const base = {
      rolloutId: id,
      phase: decision.state.phase,
      ...(decision.state.wavePhase ? { wavePhase: decision.state.wavePhase } : {}),
      wave: decision.state.wave,
    };
    for (const t of decision.transitions)
      this.emit({ ...base, type: 'transition', at: t.at, transition: t, message: t.reason });
    for (const v of decision.verdicts)
      this.emit({ ...base, type: 'verdict', at: v.at, verdict: v, message: v.message });
    for (const c of decision.conditions ?? [])
      this.emit({
        ...base,
        type: 'condition',
        at: decision.state.updatedAt,
        message: `${c.type}=${c.status}: ${c.message}`,
      });
    if (decision.transitions.length === 0 && decision.changed)
      this.emit({ ...base, type: 'progress', at: decision.state.updatedAt, message: decision.state.reason });
    this.seenHistory.set(id, transitionCount(decision.state));
  }

  private async followerPoll(): Promise<void> {
    const { store, logger } = this.context;
    if (this.isLeader() || this.emitter.listenerCount('event') === 0) return;
    try {
      for (const id of await store.listScopes(ROLLOUT_KIND)) {
        const doc = await store.read(id, RolloutDoc.State);
        if (!doc) continue;
        const state = parseStored(StoredRolloutState, doc, RolloutDoc.State);
        const seen = this.seenHistory.get(id) ?? transitionCount(state);
        for (const t of transitionsSince(state, seen)) {
          this.emit({
            type: 'transition',
            rolloutId: id,
            at: t.at,
            phase: state.phase,
            ...(state.wavePhase ? { wavePhase: state.wavePhase } : {}),
            wave: state.wave,
            transition: t,
            message: t.reason,
          });
        }
        this.seenHistory.set(id, transitionCount(state));
      }
    } catch (error) {
      logger.warn({ err: error }, 'follower poll failed');
    }
  }
}
