import { GateOutcome, TransitionTrigger, type GateVerdict, type TransitionRecord } from '@meshwave/contracts';
import { ChangeWindows } from '@meshwave/plan';
import { desiredContents, desiredKeyOf, type EngineCommand } from './desired-state.js';
import { agentReportHealthSource, evaluateGate, type HealthSource } from './health-source.js';
import { metricGatePaths, metricHealthSources, metricWindowStartOf, type MetricObservation } from './metric-gates.js';
import type { Observations, RolloutRecord, RolloutState, TargetRecord } from './rollout-state.js';
import { TERMINAL_PHASES, stateKeyOf, transition, type StateKey } from './transition-table.js';
import { observeUnits, observeVmHosts } from './unit-observations.js';

export interface EngineConfig {
  /** a target whose reports lag behind what was sent gets it again after this long */
  readonly resyncAfterMs: number;
  /** an Inconclusive or Error final gate is evaluated again after this long */
  readonly gateRetryMs: number;
  /** verdicts kept per rollout (the newest) */
  readonly maxVerdicts: number;
}

export const DEFAULT_ENGINE_CONFIG: EngineConfig = { resyncAfterMs: 30_000, gateRetryMs: 15_000, maxVerdicts: 500 };

export interface DecisionInput {
  readonly record: RolloutRecord;
  readonly state: RolloutState;
  readonly observations: Observations;
  readonly now: Date;
  /** the leader's fencing epoch, stamped on every command */
  readonly epoch: number;
  /** re-send every target's desired state (a new leader taking over) */
  readonly resendAll?: boolean;
  readonly config?: EngineConfig;
  /** default: agent reports and the metric gates (which pass silently unless the rollout asks for them) */
  readonly healthSources?: readonly HealthSource[];
  /** what the metrics adapter fetched for the current wave; undefined: no metrics backend configured */
  readonly metrics?: MetricObservation;
}

/** Agent reports, then the metric gates with their default thresholds. */
export const DEFAULT_HEALTH_SOURCES: readonly HealthSource[] = [agentReportHealthSource, ...metricHealthSources()];

/** What to do: the next state (to store with the epoch), why, what to publish, and when to look again. */
export interface Decision {
  readonly state: RolloutState;
  readonly transitions: readonly TransitionRecord[];
  readonly verdicts: readonly GateVerdict[];
  /** halt commands first, then desired states: one target's commands stay in this order on its partition */
  readonly commands: readonly EngineCommand[];
  /** the next instant this rollout needs a look even if no report arrives; undefined: only events move it */
  readonly wakeAt?: Date;
  /** the state differs from the input (something to store) */
  readonly changed: boolean;
}

const HORIZON_MS = 366 * 86_400_000;
/** transitions one decision may chain (Gating → Dispatching → ...); a bound, never reached in practice */
const MAX_STEPS = 16;

interface StartBlock {
  readonly reason: string;
  readonly until?: number;
}

/** Why wave `w` may not start at `now` (start time, pin, window, blackout, approval), or undefined. */
export function startBlockOf(
  record: RolloutRecord,
  state: RolloutState,
  w: number,
  now: number,
): StartBlock | undefined {
  const planned = record.plan.waves[w];
  if (planned === undefined) return undefined;
  const notBefore = record.notBefore[w];
  if (notBefore !== null && notBefore !== undefined && Date.parse(notBefore) > now) {
    const why = planned.delays.length > 0 ? planned.delays.join('; ') : 'planned start';
    return { reason: `wave "${planned.name}" waits until ${notBefore} (${why})`, until: Date.parse(notBefore) };
  }
  const window = new ChangeWindows(record.spec.spec.windows).earliestStart(now, now + HORIZON_MS);
  if (window === undefined) return { reason: `wave "${planned.name}": no change window opens within a year` };
  if (window.start > now) {
    const why = window.delays.map((d) => d.reason).join('; ') || 'outside the change windows';
    return {
      reason: `wave "${planned.name}" waits until ${new Date(window.start).toISOString()} (${why})`,
      until: window.start,
    };
  }
  // A forced wave exists to hold the deadline: it does not wait for a person.
  if (planned.approval && !planned.forced && !state.approvedWaves.includes(w))
    return { reason: `wave "${planned.name}" awaits approval` };
  return undefined;
}

class Stepper {
  state: RolloutState;
  readonly transitions: TransitionRecord[] = [];
  readonly verdicts: GateVerdict[] = [];
  readonly halts: { target: string; reason: string }[] = [];
  wakeAt: number | undefined;
  /** stop chaining: commands must go out before the next observation means anything */
  settled = false;

  constructor(
    private readonly input: DecisionInput,
    private readonly now: Date,
  ) {
    this.state = input.state;
  }

  wake(at: number): void {
    this.wakeAt = this.wakeAt === undefined ? at : Math.min(this.wakeAt, at);
  }

  go(
    to: StateKey,
    trigger: (typeof TransitionTrigger)[keyof typeof TransitionTrigger],
    reason: string,
    patch: Partial<RolloutState> = {},
  ): void {
    const { state, record } = transition(this.state, to, trigger, reason, this.now);
    this.state = { ...state, ...patch };
    this.transitions.push(record);
  }

  setReason(reason: string): void {
    if (this.state.reason !== reason) this.state = { ...this.state, reason, updatedAt: this.now.toISOString() };
  }

  recordVerdict(v: GateVerdict): void {
    const last = [...this.state.verdicts].reverse().find((x) => x.wave === v.wave);
    // Watches repeat every reconcile: keep one entry per change of outcome or reason, and every final verdict.
    if (
      !v.final &&
      last !== undefined &&
      last.outcome === v.outcome &&
      last.reason === v.reason &&
      last.message === v.message
    )
      return;
    const max = this.input.config?.maxVerdicts ?? DEFAULT_ENGINE_CONFIG.maxVerdicts;
    this.state = { ...this.state, verdicts: [...this.state.verdicts, v].slice(-max) };
    this.verdicts.push(v);
  }
}

function gate(input: DecisionInput, state: RolloutState, final: boolean, now: Date): GateVerdict {
  const { record, observations } = input;
  const w = state.wave;
  const earlier = Array.from({ length: Math.min(w, state.dispatchedWaves) }, (_, i) => i);
  const windowStart = metricWindowStartOf(state);
  const verdict = evaluateGate(input.healthSources ?? DEFAULT_HEALTH_SOURCES, {
    rolloutId: record.id,
    wave: w,
    final,
    gates: record.spec.spec.gates,
    units: observeUnits(record, state, observations, [w]),
    watched: observeUnits(record, state, observations, earlier),
    vmHosts: observeVmHosts(record, state, observations, [w]),
    ...(input.metrics !== undefined ? { metrics: input.metrics } : {}),
    ...(windowStart !== undefined ? { metricWindowStart: windowStart } : {}),
  });
  return {
    wave: w,
    outcome: verdict.outcome,
    reason: verdict.reason,
    message: verdict.message,
    source: verdict.source,
    at: now.toISOString(),
    failed: [...verdict.failed],
    final,
  };
}

function failWave(s: Stepper, input: DecisionInput, verdict: GateVerdict): void {
  s.go('Halted', TransitionTrigger.GateFailed, `gate failed in wave ${s.state.wave}: ${verdict.message}`, {
    gateRetryAt: undefined,
  });
  for (const target of Object.keys(s.state.targets)) s.halts.push({ target, reason: verdict.message });
  const policy = input.record.spec.spec.onGateFailure;
  if (policy === 'rollback-wave') {
    s.go(
      'RollingBack',
      TransitionTrigger.RollbackStarted,
      `onGateFailure=rollback-wave: failing back wave ${s.state.wave} to ${input.record.spec.spec.from}`,
      {
        rolledBackWaves: [...new Set([...s.state.rolledBackWaves, s.state.wave])],
        rollbackScope: 'wave',
      },
    );
  } else if (policy === 'rollback-all') {
    s.go(
      'RollingBack',
      TransitionTrigger.RollbackStarted,
      `onGateFailure=rollback-all: failing back every dispatched unit to ${input.record.spec.spec.from}`,
      {
        rollbackAll: true,
        rollbackScope: 'all',
      },
    );
  }
  s.settled = true;
}

/** One step of the state machine from the current state; false when nothing more can happen now. */
function step(s: Stepper, input: DecisionInput): boolean {
  const now = input.now.getTime();
  const { record } = input;
  const st = s.state;
  const waves = record.plan.waves;
  switch (stateKeyOf(st)) {
    case 'Pending': {
      const block = waves.length > 0 ? startBlockOf(record, st, 0, now) : undefined;
      if (block) {
        s.setReason(block.reason);
        if (block.until !== undefined) s.wake(block.until);
        return false;
      }
      s.go('Running/Dispatching', TransitionTrigger.Start, 'start conditions of the first wave met', { wave: 0 });
      return true;
    }
    case 'Running/Dispatching': {
      if (st.wave >= waves.length) {
        // A plan without waves: nothing to move.
        s.go('Running/Converging', TransitionTrigger.Dispatched, 'no wave to dispatch');
        return true;
      }
      const block = startBlockOf(record, st, st.wave, now);
      if (block) {
        s.setReason(block.reason);
        if (block.until !== undefined) s.wake(block.until);
        return false;
      }
      const planned = waves[st.wave]!;
      const forced = planned.forced ? ' (forced by the deadline)' : '';
      s.go(
        'Running/Converging',
        TransitionTrigger.Dispatched,
        `wave "${planned.name}" dispatched: ${planned.units.length} units, ${planned.vmHosts.length} VM hosts${forced}`,
        {
          dispatchedWaves: Math.max(st.dispatchedWaves, st.wave + 1),
          rolledBackWaves: st.rolledBackWaves.filter((w) => w !== st.wave),
          waveDispatchedAt: input.now.toISOString(),
          soakStartedAt: undefined,
        },
      );
      s.settled = true;
      s.wake(now); // look again at once: a wave nobody reports on (empty) must not wait for an event
      return false;
    }
    case 'Running/Converging': {
      const v = gate(input, st, false, input.now);
      s.recordVerdict(v);
      if (v.outcome === GateOutcome.Failed) {
        failWave(s, input, v);
        return false;
      }
      if (v.outcome === GateOutcome.Successful) {
        s.go('Running/Soaking', TransitionTrigger.Converged, v.message, { soakStartedAt: input.now.toISOString() });
        return true;
      }
      s.setReason(v.message);
      return false;
    }
    case 'Running/Soaking': {
      const v = gate(input, st, false, input.now);
      if (v.outcome === GateOutcome.Failed) {
        s.recordVerdict(v);
        failWave(s, input, v);
        return false;
      }
      const soakMs = (waves[st.wave]?.soakSeconds ?? 0) * 1000;
      const until = Date.parse(st.soakStartedAt ?? input.now.toISOString()) + soakMs;
      if (now < until) {
        s.setReason(`soaking until ${new Date(until).toISOString()}`);
        s.wake(until);
        // Metrics change without any report arriving: look again every gate retry so a bad canary halts mid-soak.
        if (metricGatePaths(record.spec.spec.gates).length > 0)
          s.wake(now + (input.config?.gateRetryMs ?? DEFAULT_ENGINE_CONFIG.gateRetryMs));
        return false;
      }
      s.go('Running/Gating', TransitionTrigger.SoakElapsed, `soaked ${soakMs / 1000}s`);
      return true;
    }
    case 'Running/Gating': {
      if (st.gateRetryAt !== undefined && Date.parse(st.gateRetryAt) > now) {
        s.wake(Date.parse(st.gateRetryAt));
        return false;
      }
      const v = gate(input, st, true, input.now);
      s.recordVerdict(v);
      if (v.outcome === GateOutcome.Failed) {
        failWave(s, input, v);
        return false;
      }
      if (v.outcome === GateOutcome.Successful) {
        const name = waves[st.wave]?.name ?? String(st.wave);
        if (st.wave + 1 >= waves.length) {
          s.go('Completed', TransitionTrigger.LastGatePassed, `wave "${name}" passed its gate; every wave done`, {
            gateRetryAt: undefined,
          });
          return false;
        }
        s.go('Running/Dispatching', TransitionTrigger.GatePassed, `wave "${name}" passed its gate: ${v.message}`, {
          wave: st.wave + 1,
          gateRetryAt: undefined,
          soakStartedAt: undefined,
        });
        return true;
      }
      const retry = now + (input.config?.gateRetryMs ?? DEFAULT_ENGINE_CONFIG.gateRetryMs);
      s.state = { ...s.state, gateRetryAt: new Date(retry).toISOString() };
      s.setReason(`gate ${v.outcome}: ${v.message}; evaluated again at ${new Date(retry).toISOString()}`);
      s.wake(retry);
      return false;
    }
    case 'RollingBack': {
      const waveList = st.rollbackAll
        ? Array.from({ length: st.dispatchedWaves }, (_, i) => i)
        : st.rolledBackWaves.filter((w) => w < st.dispatchedWaves);
      const units = observeUnits(record, st, input.observations, waveList);
      const hosts = observeVmHosts(record, st, input.observations, waveList);
      const failed = [
        ...units.filter((u) => u.fresh && u.status === 'failed').map((u) => u.unit),
        ...hosts.filter((h) => h.fresh && h.status === 'failed').map((h) => `vmgroup/${h.host}`),
      ];
      if (failed.length > 0) {
        s.go(
          'Failed',
          TransitionTrigger.RollbackFailed,
          `failback failed for ${failed.slice(0, 5).join(', ')}${failed.length > 5 ? ` and ${failed.length - 5} more` : ''}`,
        );
        for (const target of Object.keys(s.state.targets)) s.halts.push({ target, reason: 'failback failed' });
        return false;
      }
      const pending =
        units.filter((u) => !(u.fresh && u.status === 'converged')).length +
        hosts.filter((h) => !(h.fresh && h.status === 'converged')).length;
      if (pending > 0) {
        s.setReason(
          `failing back to ${record.spec.spec.from}: ${pending} of ${units.length + hosts.length} units and VM hosts still to go`,
        );
        return false;
      }
      if (st.rollbackScope === 'wave') {
        s.go(
          'Halted',
          TransitionTrigger.WaveRolledBack,
          `wave ${st.wave} is back on ${record.spec.spec.from}; resume to retry it (exclude what failed first)`,
          { rollbackScope: undefined },
        );
      } else {
        s.go('RolledBack', TransitionTrigger.RolledBack, `every dispatched unit is back on ${record.spec.spec.from}`, {
          rollbackScope: undefined,
        });
      }
      return false;
    }
    default:
      return false; // Paused, Halted and terminal phases wait for an operator
  }
}

/**
 * The engine's decision for one rollout: pure. Given the stored state and what agents reported, it steps the
 * state machine as far as the observations allow, then works out which targets need their desired state
 * (new content → new generation; lagging reports → the same content again) and when to look again.
 */
export function decide(input: DecisionInput): Decision {
  const s = new Stepper(input, input.now);
  const config = input.config ?? DEFAULT_ENGINE_CONFIG;
  for (let i = 0; i < MAX_STEPS && !s.settled; i++) if (!step(s, input)) break;

  const now = input.now.getTime();
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
  const key = desiredKeyOf(s.state);
  const targets: Record<string, TargetRecord> = { ...s.state.targets };
  const reportGenerationOf = (target: string): number | undefined =>
    target.startsWith('cluster/')
      ? input.observations.clusters.get(target.slice('cluster/'.length))?.generation
      : input.observations.vmGroups.get(target.slice('vmgroup/'.length))?.generation;
  const lags = (target: string, prev: TargetRecord): boolean => (reportGenerationOf(target) ?? -1) < prev.generation;
  const resyncDue = (target: string, prev: TargetRecord): boolean =>
    lags(target, prev) && now - Date.parse(prev.sentAt) >= config.resyncAfterMs;
  const known = Object.entries(s.state.targets);
  // Desired contents are rebuilt only when something they depend on changed, or a target must get them again.
  const rebuild =
    input.resendAll === true ||
    (known.length === 0 && s.state.dispatchedWaves > 0) ||
    known.some(([t, prev]) => prev.digest !== key || resyncDue(t, prev));
  const contents = rebuild ? desiredContents(input.record, s.state) : [];
  const nextGeneration = contents.some((c) => s.state.targets[c.target]?.digest !== key) ? generation + 1 : generation;
  for (const c of contents) {
    const prev = targets[c.target];
    const changed = prev?.digest !== key;
    if (!changed && !resyncDue(c.target, prev) && !input.resendAll) continue;
    const gen = changed ? nextGeneration : prev.generation;
    targets[c.target] = { generation: gen, digest: key, sentAt: nowIso, epoch: input.epoch };
    const stamped = { ...c.data, generation: gen, epoch: input.epoch };
    commands.push(
      c.kind === 'cluster'
        ? { kind: 'cluster', target: c.target, data: stamped as typeof c.data & { generation: number; epoch: number } }
        : { kind: 'vmgroup', target: c.target, data: stamped as typeof c.data & { generation: number; epoch: number } },
    );
  }
  // A target whose reports lag what it was sent gets it again after the resync interval.
  for (const [t, prev] of Object.entries(targets))
    if (lags(t, prev)) s.wake(Date.parse(prev.sentAt) + config.resyncAfterMs);
  const state: RolloutState = commands.length > 0 ? { ...s.state, generation: nextGeneration, targets } : s.state;
  const changed = state !== input.state;
  return {
    state: changed && state.updatedAt === input.state.updatedAt ? { ...state, updatedAt: nowIso } : state,
    transitions: s.transitions,
    verdicts: s.verdicts,
    commands,
    ...(s.wakeAt !== undefined && !TERMINAL_PHASES.has(state.phase)
      ? { wakeAt: new Date(Math.max(s.wakeAt, now)) }
      : {}),
    changed,
  };
}
