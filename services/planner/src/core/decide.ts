import { desiredContents, desiredKeyOf, type EngineCommand } from './desired-state.js';
import { DEFAULT_ENGINE_CONFIG, type Decision, type DecisionInput } from './decision.js';
import { RolloutPhase } from '@meshwave/contracts';
import type { RolloutState, TargetRecord } from './rollout-state.js';
import { blackoutsWaived, noteEmergency } from './emergency.js';
import { outsideWindows } from './start-block.js';
import { trackDeadline } from './deadline-pace.js';
import { reviewMembership } from './membership-step.js';
import { Stepper } from './stepper.js';
import { TERMINAL_PHASES } from './transition-table.js';
import { step } from './wave-steps.js';
import { lagsBehind } from './target-lag.js';
import { firstGatewayWave } from './step-waves.js';

/** a lagging target's resync interval doubles with each resend of the same content, up to this many times */
export const MAX_RESYNC_DOUBLINGS = 3;

/**
 * When a target whose reports lag its desired state gets the same content again: `resyncAfterMs`, doubled for each
 * resend of it so far, at most 8 times as long. An agent that is only behind (reading a backlog, a starved loop)
 * would otherwise be sent the content again and again while it is behind, and fall further behind: at fleet (b) in
 * process mode that was 400-578 desired states of ~160 KB a minute to 50 agents (issue 15). A lost message is still
 * sent again after `resyncAfterMs`; a new content (new generation) starts again from it.
 */
export function resyncAfter(resyncAfterMs: number, target: Pick<TargetRecord, 'resends'>): number {
  return resyncAfterMs * 2 ** Math.min(target.resends ?? 0, MAX_RESYNC_DOUBLINGS);
}

/**
 * Stamps `ackedAt` on each target whose reports reached what it was sent, the first time since the wave's dispatch
 * (`waveDispatchedAt`); says whether any was stamped.
 */
function stampAcks(
  targets: Record<string, TargetRecord>,
  waveDispatchedAt: string | undefined,
  lags: (target: string, prev: TargetRecord) => boolean,
  nowIso: string,
): boolean {
  let stamped = false;
  for (const [t, prev] of Object.entries(targets)) {
    if (lags(t, prev)) continue;
    if (prev.ackedAt !== undefined && (waveDispatchedAt === undefined || prev.ackedAt >= waveDispatchedAt)) continue;
    targets[t] = { ...prev, ackedAt: nowIso };
    stamped = true;
  }
  return stamped;
}

/** transitions one decision may chain (Gating → Dispatching → ...); a bound, never reached in practice */
const MAX_STEPS = 16;

/**
 * The engine's decision for one rollout: pure. Given the stored state and what agents reported, it steps the
 * state machine as far as the observations allow, then works out which targets need their desired state
 * (new content → new generation; lagging reports → the same content again) and when to look again.
 */
export function decide(input: DecisionInput): Decision {
  const s = new Stepper(input, input.now);
  const config = input.config ?? DEFAULT_ENGINE_CONFIG;
  const now = input.now.getTime();
  // Windows and blackouts govern every restart, not only a wave's start: outside them a running rollout's agents
  // start no new restart (those in flight finish) until the window opens. A failback is not held: it restores.
  const closed = outsideWindows(input.record, now, blackoutsWaived(input));
  if (closed !== undefined) {
    const until = closed.until !== undefined ? `until ${new Date(closed.until).toISOString()} ` : '';
    s.holdReason = `waiting for window ${until}(${closed.why}): no new restart starts, those in flight finish`;
  }
  // A wave waiting for a silent cluster says so (its gate alone would only say reports are missing).
  const waiting = reviewMembership(s, input);
  if (waiting !== undefined) s.waitingFor = { wave: s.state.wave, reason: waiting };
  for (let i = 0; i < MAX_STEPS && !s.settled; i++) if (!step(s, input)) break;
  trackDeadline(s, input);
  noteEmergency(s, input);
  const outsideWindow = closed !== undefined && s.state.phase === RolloutPhase.Running;
  if (outsideWindow) {
    s.setReason(s.holdReason ?? '');
    if (closed.until !== undefined) s.wake(closed.until);
  }

  const nowIso = input.now.toISOString();
  const commands: EngineCommand[] = [];
  let generation = s.state.generation;
  const header = { rolloutId: input.record.id, wave: s.state.wave, epoch: input.epoch };
  if (s.halts.length > 0) {
    generation += 1;
    for (const h of [...new Set(s.halts.map((x) => x.target))].sort()) {
      const reason = s.halts.find((x) => x.target === h)?.reason ?? 'halt';
      commands.push({ kind: 'halt', target: h, data: { ...header, generation, target: h, reason } });
    }
  }
  // A freeze halts every target of a rollout still active, whatever its phase (a failback too: nothing restarts).
  const frozen = input.freeze !== undefined && !TERMINAL_PHASES.has(s.state.phase);
  const held = frozen || outsideWindow;
  const key = desiredKeyOf(s.state, held, s.state.dispatchedWaves > firstGatewayWave(input.record));
  const targets: Record<string, TargetRecord> = { ...s.state.targets };
  const lags = (target: string, prev: TargetRecord): boolean => lagsBehind(input.observations, target, prev);
  const resyncDue = (target: string, prev: TargetRecord): boolean =>
    lags(target, prev) && now - Date.parse(prev.sentAt) >= resyncAfter(config.resyncAfterMs, prev);
  const known = Object.entries(s.state.targets);
  // Desired contents are rebuilt only when something they depend on changed, or a target must get them again.
  const rebuild =
    input.resendAll === true ||
    (known.length === 0 && s.state.dispatchedWaves > 0) ||
    known.some(([t, prev]) => prev.digest !== key || resyncDue(t, prev));
  const contents = rebuild ? desiredContents(input.record, s.state, held) : [];
  const nextGeneration = contents.some((c) => s.state.targets[c.target]?.digest !== key) ? generation + 1 : generation;
  for (const c of contents) {
    const prev = targets[c.target];
    const changed = prev?.digest !== key;
    if (!changed && !resyncDue(c.target, prev) && !input.resendAll) continue;
    const gen = changed ? nextGeneration : prev.generation;
    // the same content again because the target's reports lag it: the next time waits twice as long
    const resends = changed ? 0 : (prev.resends ?? 0) + (resyncDue(c.target, prev) ? 1 : 0);
    targets[c.target] = {
      generation: gen,
      digest: key,
      sentAt: nowIso,
      epoch: input.epoch,
      ...(resends > 0 ? { resends } : {}),
      ...(prev?.ackedAt !== undefined ? { ackedAt: prev.ackedAt } : {}),
    };
    const stamped = { ...c.data, generation: gen, epoch: input.epoch };
    commands.push(
      c.kind === 'cluster'
        ? { kind: 'cluster', target: c.target, data: stamped as typeof c.data & { generation: number; epoch: number } }
        : { kind: 'vmgroup', target: c.target, data: stamped as typeof c.data & { generation: number; epoch: number } },
    );
  }
  // A target whose reports lag what it was sent gets it again after the resync interval (backed off).
  for (const [t, prev] of Object.entries(targets))
    if (lags(t, prev)) s.wake(Date.parse(prev.sentAt) + resyncAfter(config.resyncAfterMs, prev));
  const acked = stampAcks(targets, s.state.waveDispatchedAt, lags, nowIso);
  const state: RolloutState =
    commands.length > 0 || acked ? { ...s.state, generation: nextGeneration, targets } : s.state;
  const changed = state !== input.state;
  return {
    state: changed && state.updatedAt === input.state.updatedAt ? { ...state, updatedAt: nowIso } : state,
    transitions: s.transitions,
    verdicts: s.verdicts,
    ...(s.conditions.length > 0 ? { conditions: s.conditions } : {}),
    commands,
    ...(s.wakeAt !== undefined && !TERMINAL_PHASES.has(state.phase)
      ? { wakeAt: new Date(Math.max(s.wakeAt, now)) }
      : {}),
    changed,
  };
}
