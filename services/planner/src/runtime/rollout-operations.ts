import { randomBytes } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import {
  Inventory,
  RolloutSpec,
  parseInventory,
  parseRolloutSpec,
  rolloutIdOf,
  validate,
  type ActionResponse,
  type ExcludedUnit,
  type OperatorAction,
  type Plan,
  type RolloutSummary,
  type TransitionPage,
  type TransitionPageQuery,
  type PlanResponse,
} from '@meshwave/contracts';
import { planRollout } from '@meshwave/plan';
import type { AuditEntry, AuditRecord } from '@meshwave/store';
import { injectTraceContext, rolloutAttributes, withSpan } from '@meshwave/telemetry';
import { metricGatePaths } from '../core/metric-query.js';
import { applyOperatorAction, type OperatorResult } from '../core/operator-actions.js';
import { planRefusal, upgradePathOverride } from '../core/plan-refusal.js';
import { checkPolicy, planPolicyOf } from '../core/policy-check.js';
import { planningSpecOf } from '../core/emergency.js';
import { PlanRefusal, checkPlanAcceptance } from '../core/plan-acceptance.js';
import { newRolloutRecord } from '../core/rollout-record.js';
import { newRolloutState } from '../core/rollout-state.js';
import { retryFailedUnits } from '../core/unit-retry.js';
import { TERMINAL_PHASES } from '../core/transition-table.js';
import { PlannerError, PlannerErrorCode } from '../errors.js';
import { buildRolloutStatus } from '../views/rollout-status.js';
import { RolloutStatusCache } from '../views/rollout-status-cache.js';
import { transitionPage } from '../views/transition-page.js';
import type { FleetInventory } from './fleet-inventory.js';
import { readFreeze } from './freeze-control.js';
import type { Leadership } from './leadership.js';
import { storeDataLost } from './store-era.js';
import { nowOf, type PlannerContext } from './planner-context.js';
import { FinishedStatuses, type TaggedStatus } from './finished-statuses.js';
import { RolloutAdmission, drivenUnitsOf } from './rollout-admission.js';
import type { RolloutEvents } from './rollout-events.js';
import type { RolloutReconciler } from './rollout-reconciler.js';
import { RolloutDoc, stateWrite, type LoadedRollout } from './store-layout.js';
import { RolloutSummaries } from './rollout-summaries.js';

/** A rollout just started, with its whole plan (the API answers with the plan's summary, ADR 0039). */
export interface NewRollout {
  readonly id: string;
  readonly phase: string;
  readonly plan: Plan;
}

/** A rollout spec and an inventory as the API receives them: text (YAML/JSON, with positions in errors) or objects. */
export interface PlanInput {
  readonly spec: string | Record<string, unknown>;
  /** default: the stored inventory (operator's base + agents' reports) */
  readonly inventory?: string | Record<string, unknown>;
}

export interface ActionInput {
  readonly action: OperatorAction;
  readonly actor: string;
  readonly reason?: string;
  readonly units?: readonly ExcludedUnit[];
}

export interface RetryInput {
  readonly actor: string;
  readonly reason: string;
  /** unit keys; absent: every failed unit */
  readonly units?: readonly string[];
}

/** An action as stored in the audit and answered: an operator action, or a retry. */
type StoredAction = Omit<ActionInput, 'action'> & {
  readonly action: OperatorAction | 'retry';
  /** the unit keys a retry named */
  readonly retried?: readonly string[];
};

/** What the operations need of the other parts of the planner. */
export interface RolloutOperationsPorts {
  readonly leadership: Pick<Leadership, 'requireLeader' | 'lost' | 'halted'>;
  readonly inventory: Pick<FleetInventory, 'stored'>;
  readonly reconciler: Pick<RolloutReconciler, 'adopt' | 'enqueue' | 'load' | 'read'>;
  readonly events: Pick<RolloutEvents, 'emit'>;
  /** whether a metrics backend is configured (metric gates can be evaluated) */
  readonly metricsConfigured: boolean;
}

const tracer = trace.getTracer('@meshwave/planner');

const newRolloutId = (name: string, now: Date): string =>
  rolloutIdOf(name, now.getTime(), randomBytes(2).toString('hex'));

function parseInput(input: PlanInput): { spec: RolloutSpec; inventory?: Inventory } {
  const spec = typeof input.spec === 'string' ? parseRolloutSpec(input.spec) : validate(RolloutSpec, input.spec);
  if (input.inventory === undefined) return { spec };
  const inventory =
    typeof input.inventory === 'string' ? parseInventory(input.inventory) : validate(Inventory, input.inventory);
  return { spec, inventory };
}

/** The API's operations on rollouts: plan, create, read, act on, and read the audit and transitions of. */
export class RolloutOperations {
  private readonly admission: RolloutAdmission;
  private readonly statuses = new RolloutStatusCache();
  private readonly summaries: RolloutSummaries;
  private readonly finished: FinishedStatuses;

  constructor(
    private readonly context: PlannerContext,
    private readonly ports: RolloutOperationsPorts,
  ) {
    this.admission = new RolloutAdmission(context.store);
    this.summaries = new RolloutSummaries(context.store);
    this.finished = new FinishedStatuses(context.store, context.health, context.clock);
  }

  /** The plan of a dry run, with the policy's rules that apply and what the rollout breaks (apply's preview). */
  async plan(input: PlanInput): Promise<PlanResponse> {
    const { spec, inventory, plan } = await this.planFor(input, nowOf(this.context));
    const policy = this.context.config.policy;
    return policy ? { ...plan, policy: planPolicyOf(policy, spec, plan, inventory) } : plan;
  }

  async create(input: PlanInput, actor: string): Promise<NewRollout> {
    const lease = this.ports.leadership.requireLeader();
    const now = nowOf(this.context);
    const { spec, inventory, plan } = await this.planFor(input, now);
    const refused = planRefusal(plan);
    if (refused) throw refused;
    const override = upgradePathOverride(spec, plan);
    const metricPaths = metricGatePaths(spec.spec.gates);
    if (metricPaths.length > 0 && !this.ports.metricsConfigured)
      throw new PlannerError(
        PlannerErrorCode.MetricGatesUnavailable,
        `${metricPaths.join(' and ')} need Prometheus and this planner has none (MESHWAVE_PROMETHEUS_URL): such a gate could never be evaluated`,
        { context: { paths: metricPaths } },
      );
    const acceptance = checkPlanAcceptance(spec, plan, now);
    if (!acceptance.ok)
      throw new PlannerError(
        acceptance.refusal === PlanRefusal.DeadlinePassed
          ? PlannerErrorCode.DeadlinePassed
          : PlannerErrorCode.PlanInfeasible,
        acceptance.message,
        { context: { details: acceptance.problems } },
      );
    const broken = this.context.config.policy ? checkPolicy(this.context.config.policy, spec, plan, inventory) : [];
    if (broken.length > 0)
      throw new PlannerError(
        PlannerErrorCode.PolicyViolation,
        `the rollout breaks the planner's policy: ${broken.map((b) => b.message).join('; ')}`,
        { context: { details: broken.map((b) => ({ path: b.path, message: b.message, code: b.rule })) } },
      );
    const id = newRolloutId(spec.metadata.name, now);
    await this.admission.admit({ id, name: spec.metadata.name, units: drivenUnitsOf(plan), epoch: lease.epoch });
    // Admitted: however the creation ends, its registration is no longer "in flight" (a failed one's is void).
    return withSpan(
      tracer,
      'create rollout',
      { root: true, attributes: rolloutAttributes({ rolloutId: id }) },
      async () => {
        const traceparent = injectTraceContext().traceparent;
        const record = newRolloutRecord({
          id,
          spec,
          plan,
          inventory,
          createdBy: actor,
          now,
          ...(traceparent ? { traceparent } : {}),
        });
        const state = newRolloutState(now);
        const result = await this.context.store.transition({
          scope: id,
          epoch: lease.epoch,
          writes: [{ name: RolloutDoc.Record, value: record, expectedVersion: 0 }, stateWrite(state, lease.epoch, 0)],
          audit: {
            actor,
            action: 'create',
            scope: id,
            at: now.toISOString(),
            ...(override || acceptance.acceptedInfeasible
              ? {
                  reason: [
                    ...(override ? [override.reason] : []),
                    ...(acceptance.acceptedInfeasible
                      ? [`accepted infeasible: ${acceptance.acceptedInfeasible.reason}`]
                      : []),
                  ].join('; '),
                }
              : {}),
            detail: {
              name: spec.metadata.name,
              from: spec.spec.from,
              to: spec.spec.to,
              waves: plan.waves.length,
              ...(override ? { allowUnsupportedUpgradePath: override } : {}),
              ...(acceptance.acceptedInfeasible
                ? {
                    acceptedInfeasible: {
                      ...acceptance.acceptedInfeasible,
                      problems: [...acceptance.acceptedInfeasible.problems],
                    },
                  }
                : {}),
            },
          },
        });
        if (!result.ok) throw new PlannerError(PlannerErrorCode.Conflict, `could not create ${id}: ${result.reason}`);
        this.ports.reconciler.adopt(id);
        this.ports.events.emit({
          type: 'action',
          rolloutId: id,
          at: now.toISOString(),
          phase: state.phase,
          wave: 0,
          message: `created by ${actor}`,
        });
        return { id, phase: state.phase, plan };
      },
    ).finally(() => this.admission.settled(id));
  }

  async list(): Promise<RolloutSummary[]> {
    const lost = this.ports.leadership.halted;
    if (lost !== undefined) throw storeDataLost(lost);
    return this.summaries.list();
  }

  /** The status, with an entity tag when the rollout is finished (held, and rebuilt only when its inputs change). */
  async getTagged(id: string): Promise<TaggedStatus> {
    const held = await this.finished.current(id);
    if (held !== undefined) return held;
    const [read, freeze] = await Promise.all([this.ports.reconciler.read(id), readFreeze(this.context.store)]);
    const loaded = read.loaded ?? this.notFound(id);
    const status = buildRolloutStatus(loaded.record, loaded.state, loaded.observations, nowOf(this.context), {
      waves: this.statuses.wavesOf(id, loaded),
    });
    // A freeze holds only what is still active: a finished rollout has nothing left to start.
    if (TERMINAL_PHASES.has(status.phase)) return this.finished.keep(id, read.docs, status);
    return { status: freeze.frozen ? { ...status, freeze } : status };
  }

  /** An operator's action, stored with its audit entry; the engine loop writes the same document, so a few tries. */
  act(id: string, input: ActionInput): Promise<ActionResponse> {
    return this.applyAndStore(id, input, PlannerErrorCode.InvalidExclusion, (loaded, now) =>
      applyOperatorAction(loaded.record, loaded.state, {
        action: input.action,
        actor: input.actor,
        now,
        ...(input.reason !== undefined ? { reason: input.reason } : {}),
        ...(input.units ? { units: input.units } : {}),
      }),
    );
  }

  /** Failed units (the named ones, or all) restart once more towards the same revision; audited. */
  retry(id: string, input: RetryInput): Promise<ActionResponse> {
    const action: StoredAction = {
      action: 'retry',
      actor: input.actor,
      reason: input.reason,
      ...(input.units !== undefined ? { retried: input.units } : {}),
    };
    return this.applyAndStore(id, action, PlannerErrorCode.InvalidRetry, (loaded, now) =>
      retryFailedUnits(loaded.record, loaded.state, loaded.observations, {
        actor: input.actor,
        reason: input.reason,
        now,
        ...(input.units !== undefined ? { units: input.units } : {}),
      }),
    );
  }

  private async applyAndStore(
    id: string,
    input: StoredAction,
    invalid: PlannerErrorCode,
    apply: (loaded: LoadedRollout, now: Date) => OperatorResult,
  ): Promise<ActionResponse> {
    const lease = this.ports.leadership.requireLeader();
    for (let attempt = 0; attempt < 5; attempt++) {
      const loaded = await this.loadOrThrow(id);
      const now = nowOf(this.context);
      const result = apply(loaded, now);
      if (!result.ok)
        throw new PlannerError(result.problems ? invalid : PlannerErrorCode.ActionNotApplicable, result.why, {
          context: { id, action: input.action, phase: loaded.state.phase, details: result.problems },
        });
      const written = await this.context.store.transition({
        scope: id,
        epoch: lease.epoch,
        writes: [stateWrite(result.state, lease.epoch, loaded.stateVersion)],
        audit: actionAudit(id, input, result, now),
      });
      if (!written.ok) {
        if (written.reason === 'stale-epoch') {
          void this.ports.leadership.lost('stale epoch');
          throw new PlannerError(PlannerErrorCode.NotLeader, 'leadership moved to another replica; retry', {
            retryable: true,
          });
        }
        continue;
      }
      return this.acted(id, input, result, now);
    }
    throw new PlannerError(PlannerErrorCode.Conflict, `rollout ${id} kept changing; try again`, { retryable: true });
  }

  audit(scope?: string, limit?: number, before?: string): Promise<readonly AuditRecord[]> {
    return this.context.store.readAudit({
      ...(scope !== undefined ? { scope } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(before !== undefined ? { before } : {}),
    });
  }

  /** the rollout's whole plan, as its record holds it (the record a driven rollout's reads keep, ADR 0032) */
  async plannedOf(id: string): Promise<Plan> {
    return (await this.loadOrThrow(id)).record.plan;
  }

  async transitions(id: string, query: TransitionPageQuery): Promise<TransitionPage> {
    return transitionPage((await this.loadOrThrow(id)).state, query);
  }

  /** A stored action: the rollout is reconciled at once and the action and its transitions go to the stream. */
  private acted(
    id: string,
    input: StoredAction,
    result: Extract<OperatorResult, { ok: true }>,
    now: Date,
  ): ActionResponse {
    this.ports.reconciler.enqueue(id, true);
    const wavePhase = result.state.wavePhase ? { wavePhase: result.state.wavePhase } : {};
    const base = {
      rolloutId: id,
      at: now.toISOString(),
      phase: result.state.phase,
      ...wavePhase,
      wave: result.state.wave,
    };
    this.ports.events.emit({ ...base, type: 'action', message: result.message });
    for (const t of result.transitions)
      this.ports.events.emit({ ...base, type: 'transition', transition: t, message: t.reason });
    return { id, action: input.action, phase: result.state.phase, ...wavePhase, message: result.message };
  }

  private async planFor(input: PlanInput, now: Date): Promise<{ spec: RolloutSpec; inventory: Inventory; plan: Plan }> {
    const parsed = parseInput(input);
    const inventory = parsed.inventory ?? (await this.ports.inventory.stored()).inventory;
    if (inventory.clusters.length === 0 && inventory.vmGroups.length === 0) {
      throw new PlannerError(
        PlannerErrorCode.NoInventory,
        'no inventory: none stored (agents have not reported and none was posted) and none in the request',
      );
    }
    const planning = planningSpecOf(parsed.spec, this.context.config.policy?.emergencies);
    return { spec: parsed.spec, inventory, plan: planRollout(planning, inventory, { now }) };
  }

  private async loadOrThrow(id: string): Promise<LoadedRollout> {
    return (await this.ports.reconciler.load(id)) ?? this.notFound(id);
  }

  private notFound(id: string): never {
    // Not "no rollout" when the store lost its data: the rollout may well exist on the agents (ADR 0025).
    const lost = this.ports.leadership.halted;
    if (lost !== undefined) throw storeDataLost(lost);
    throw new PlannerError(PlannerErrorCode.RolloutNotFound, `no rollout ${id}`, { context: { id } });
  }
}

function actionAudit(
  id: string,
  input: StoredAction,
  result: Extract<OperatorResult, { ok: true }>,
  now: Date,
): AuditEntry {
  return {
    actor: input.actor,
    action: input.action,
    scope: id,
    at: now.toISOString(),
    ...(input.reason !== undefined ? { reason: input.reason } : {}),
    detail: {
      phase: result.state.phase,
      wave: result.state.wave,
      ...(input.units ? { units: input.units.map((u) => ({ ...u })) } : {}),
      ...(input.retried ? { units: [...input.retried] } : {}),
      message: result.message,
    },
  };
}
