import type {
  GateVerdict,
  HealthReport,
  Plan,
  RolloutPhase,
  RolloutSpec,
  TransitionRecord,
  UnitProgress,
  VmProgress,
  WavePhase,
} from '@meshwave/contracts';
import type { InconclusiveRun } from './gate-policy.js';
import type { WaveMembership } from './wave-units.js';
import type { DeadlineTrack } from './deadline-pace.js';

/** What never changes once a rollout is created: the spec, the plan made from it, and who asked. */
export interface RolloutRecord {
  readonly id: string;
  readonly spec: RolloutSpec;
  readonly plan: Plan;
  readonly createdAt: string;
  readonly createdBy: string;
  /**
   * Per wave, the instant before which it may not start, or null: the plan's start when it was held back by a
   * window, blackout or pin (or is the first wave), so that a wave running ahead of the plan's estimates never
   * starts a pinned unit early. Other waves start as soon as the previous gate passes.
   */
  readonly notBefore: readonly (string | null)[];
  /** W3C traceparent of the creation span: every wave's trace links to it */
  readonly traceparent?: string;
}

/** What the planner last sent one target (`cluster/<name>` or `vmgroup/<name>`). */
export interface TargetRecord {
  readonly generation: number;
  /** digest of the desired content, to publish only what changed */
  readonly digest: string;
  readonly sentAt: string;
  readonly epoch: number;
  /** how many times this content was sent again because the target's reports lagged it (absent: none) */
  readonly resends?: number;
  /**
   * When the planner first saw the target's reports reach a generation it was sent: a cluster's pace in a wave is
   * measured from its first one at or after the wave's dispatch, not from the dispatch (an agent that reads its
   * commands late has not moved slowly: ADR 0036 addendum). Kept across new generations.
   */
  readonly ackedAt?: string;
}

/** Where a Paused rollout resumes. */
export interface ResumePoint {
  readonly phase: RolloutPhase;
  readonly wavePhase?: WavePhase;
}

/** The engine's mutable state of one rollout, stored as one document and written with the leader's epoch. */
export interface RolloutState {
  readonly phase: RolloutPhase;
  /** only while Running */
  readonly wavePhase?: WavePhase;
  /** index of the current wave */
  readonly wave: number;
  /** why the rollout is where it is (last transition's reason, or what it waits for) */
  readonly reason: string;
  /** waves [0, dispatchedWaves) are part of the desired state */
  readonly dispatchedWaves: number;
  /** waves whose units were failed back to `from` and stay there until the wave is dispatched again */
  readonly rolledBackWaves: readonly number[];
  /** every dispatched unit goes back to `from` (rollback-all, or an operator's rollback) */
  readonly rollbackAll: boolean;
  /** the current rollback: a wave's or the whole rollout's */
  readonly rollbackScope?: 'wave' | 'all';
  readonly waveDispatchedAt?: string;
  readonly soakStartedAt?: string;
  readonly gateRetryAt?: string;
  /** the current wave's run of final gate evaluations that could not judge (gate-policy.ts) */
  readonly inconclusive?: InconclusiveRun;
  readonly pausedFrom?: ResumePoint;
  readonly approvedWaves: readonly number[];
  /** unit keys (`cluster/namespace` or `cluster/namespace/kind/name`) an operator excluded */
  readonly excluded: readonly string[];
  /** per unit key, how many times an operator retried it (absent: never); sent to agents as the unit's attempt */
  readonly retries?: Readonly<Record<string, number>>;
  /** who took part in which wave: snapshots, skipped (Unreachable) and added units (absent: the plan as made) */
  readonly membership?: WaveMembership;
  /** burn-down, projection, DeadlineAtRisk and pacing, worked out as the rollout runs (deadline-pace.ts) */
  readonly deadlineTrack?: DeadlineTrack;
  /** the blackout an emergency restarts inside now, as the policy allows (absent: none): audited once each */
  readonly emergencyInBlackout?: string;
  /** last generation issued; every command carries one, higher than any before it */
  readonly generation: number;
  readonly targets: Readonly<Record<string, TargetRecord>>;
  readonly verdicts: readonly GateVerdict[];
  /** the newest transitions (at most MAX_KEPT_TRANSITIONS; every one is also in the audit, kept by age) */
  readonly history: readonly TransitionRecord[];
  /** transitions dropped from the front of `history` (absent: none), so `seq` numbers stay absolute */
  readonly historyDropped?: number;
  readonly updatedAt: string;
  /** the leader epoch this state was last written under (absent in states stored before it was kept) */
  readonly epoch?: number;
}

/** The initial state of a created rollout. */
export function newRolloutState(now: Date): RolloutState {
  return {
    phase: 'Pending',
    wave: 0,
    reason: 'created',
    dispatchedWaves: 0,
    rolledBackWaves: [],
    rollbackAll: false,
    approvedWaves: [],
    excluded: [],
    generation: 0,
    targets: {},
    verdicts: [],
    history: [],
    updatedAt: now.toISOString(),
  };
}

/** A report as received, with when: health reports carry no generation, so their age decides whether they count. */
export interface Received<T> {
  readonly report: T;
  readonly receivedAt: string;
}

/** What agents said, latest per target, for this rollout. */
export interface Observations {
  /** latest UnitProgress per cluster */
  readonly clusters: ReadonlyMap<string, UnitProgress>;
  /** latest VmProgress per VM group */
  readonly vmGroups: ReadonlyMap<string, VmProgress>;
  /** latest HealthReport per cluster */
  readonly health: ReadonlyMap<string, Received<HealthReport>>;
}

export const emptyObservations = (): Observations => ({ clusters: new Map(), vmGroups: new Map(), health: new Map() });
