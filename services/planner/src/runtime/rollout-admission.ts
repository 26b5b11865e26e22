import type { Plan, RolloutPhase } from '@meshwave/contracts';
import type { StateStore } from '@meshwave/store';
import type { RolloutRecord, RolloutState } from '../core/rollout-state.js';
import { TERMINAL_PHASES } from '../core/transition-table.js';
import { PlannerError, PlannerErrorCode } from '../errors.js';
import { ROLLOUT_KIND, RolloutDoc } from './store-layout.js';
import {
  AdmissionRegistry,
  StoredRolloutRecord,
  StoredRolloutState,
  parseStoredIfAny,
  type AdmittedRollout,
} from './stored-documents.js';

// Admission of a new rollout: its name must not be the name of an active rollout, and none of its units may be
// driven by an active rollout (two rollouts must never move one workload). The check and the registration are
// one compare-and-set of the registry document (ADR 0015): of any number of concurrent creations, whichever
// registers first wins and every other re-reads the registry, finds it and is refused.

/** The scope and document of the registry of admitted rollouts. */
export const ADMISSION_SCOPE = 'admission';
export const ADMISSION_REGISTRY = 'registry';

/** One admitted rollout (the registry keeps them until they are known to have ended; see stored-documents.ts). */
type Admitted = AdmittedRollout;

/** What a rollout drives: its cluster units (`cluster/namespace[/kind/name]`) and its VM hosts (`vm:group/host`). */
export function drivenUnitsOf(plan: Plan): string[] {
  const out = new Set<string>();
  for (const w of plan.waves) {
    for (const u of w.units) out.add(u);
    for (const h of w.vmHosts) out.add(`vm:${h.group}/${h.name}`);
  }
  return [...out];
}

/** The namespace a cluster unit lies in (`cluster/namespace`); a VM host is its own. */
const namespaceOf = (unit: string): string => (unit.startsWith('vm:') ? unit : unit.split('/').slice(0, 2).join('/'));

/**
 * The units of `candidate` that an active rollout also drives. A namespace unit overlaps every workload of that
 * namespace and the namespace itself; a workload unit overlaps itself and its namespace.
 */
export function overlappingUnits(candidate: readonly string[], active: readonly string[]): string[] {
  const exact = new Set(active);
  const namespaces = new Set(active.map(namespaceOf));
  return candidate.filter((u) => {
    const isNamespace = u.startsWith('vm:') || u.split('/').length === 2;
    return isNamespace ? namespaces.has(u) : exact.has(u) || exact.has(namespaceOf(u));
  });
}

/** How many units of each conflicting rollout an error names (the count says how many more there are). */
const UNITS_NAMED = 20;
/** Registry compare-and-set attempts: each round, at least one concurrent creation registers. */
const MAX_ATTEMPTS = 64;

export interface AdmissionRequest {
  readonly id: string;
  readonly name: string;
  readonly units: readonly string[];
  readonly epoch: number;
}

/** Admits rollouts against the registry in the store. One per planner; the leader alone creates rollouts. */
export class RolloutAdmission {
  /** ids this process registered and has not yet written (a missing rollout is in flight, not failed) */
  private readonly creating = new Set<string>();
  /** records never change: units per rollout id, read once */
  private readonly unitsById = new Map<string, readonly string[]>();

  constructor(private readonly store: StateStore) {}

  /**
   * Registers `request.id`, or throws 409: ROLLOUT_EXISTS (same name) or UNITS_OVERLAP (naming the rollouts and
   * units). Call `settled(id)` once the rollout is written, or its creation failed.
   */
  async admit(request: AdmissionRequest): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const doc = await this.store.read(ADMISSION_SCOPE, ADMISSION_REGISTRY);
      const registered = parseStoredIfAny(AdmissionRegistry, doc, ADMISSION_REGISTRY)?.rollouts ?? (await this.seed());
      const live = await this.liveOf(registered, request.epoch);
      this.refuseConflicts(request, live);
      const rollouts: Record<string, Admitted> = {};
      for (const { id, admitted } of live) rollouts[id] = admitted;
      rollouts[request.id] = { name: request.name, epoch: request.epoch };
      this.creating.add(request.id);
      this.unitsById.set(request.id, request.units);
      const written = await this.store.transition({
        scope: ADMISSION_SCOPE,
        epoch: request.epoch,
        writes: [{ name: ADMISSION_REGISTRY, value: { rollouts }, expectedVersion: doc?.version ?? 0 }],
      });
      if (written.ok) return;
      this.settled(request.id);
      this.unitsById.delete(request.id);
      if (written.reason === 'stale-epoch')
        throw new PlannerError(PlannerErrorCode.NotLeader, 'leadership moved to another replica; retry', {
          retryable: true,
        });
    }
    throw new PlannerError(PlannerErrorCode.Conflict, 'too many rollouts are being created at once; try again', {
      retryable: true,
    });
  }

  settled(id: string): void {
    this.creating.delete(id);
  }

  /** A registry that never was written (first start, or a store of an earlier version): every active rollout. */
  private async seed(): Promise<Record<string, Admitted>> {
    const out: Record<string, Admitted> = {};
    for (const id of await this.store.listScopes(ROLLOUT_KIND)) {
      const record = await this.readRecord(id);
      if (record !== undefined) out[id] = { name: record.spec.metadata.name, epoch: 0 };
    }
    return out;
  }

  /** The registered rollouts still active (or being created by this process), with their phase and units. */
  private async liveOf(
    registered: Readonly<Record<string, Admitted>>,
    epoch: number,
  ): Promise<{ id: string; admitted: Admitted; phase: RolloutPhase | 'Creating'; units: readonly string[] }[]> {
    const checked = await Promise.all(
      Object.entries(registered).map(async ([id, admitted]) => {
        let state = await this.readState(id);
        if (state === undefined) {
          // No state yet: in flight if this process is writing it, or a newer leader admitted it; else its
          // creation failed, or its leader died or is paused before writing it. A paused leader could still
          // write it later, so the scope is fenced at this epoch first (its late write then fails stale-epoch),
          // and only what is still missing after that is void.
          const inFlight = (admitted.epoch === epoch && this.creating.has(id)) || admitted.epoch > epoch;
          const creating = { id, admitted, phase: 'Creating' as const, units: this.unitsById.get(id) ?? [] };
          if (inFlight) return creating;
          if (admitted.epoch < epoch) {
            const fenced = await this.store.transition({ scope: id, epoch, writes: [] });
            if (!fenced.ok) return creating; // a newer leader wrote there: not ours to void
            state = await this.readState(id);
          }
          if (state === undefined) return [];
        }
        if (TERMINAL_PHASES.has(state.phase)) {
          this.unitsById.delete(id);
          return [];
        }
        return { id, admitted, phase: state.phase, units: await this.unitsOf(id) };
      }),
    );
    return checked.flat();
  }

  private async unitsOf(id: string): Promise<readonly string[]> {
    const known = this.unitsById.get(id);
    if (known !== undefined) return known;
    const record = await this.readRecord(id);
    const units = record === undefined ? [] : drivenUnitsOf(record.plan);
    this.unitsById.set(id, units);
    return units;
  }

  private async readRecord(id: string): Promise<RolloutRecord | undefined> {
    return parseStoredIfAny(StoredRolloutRecord, await this.store.read(id, RolloutDoc.Record), RolloutDoc.Record);
  }

  private async readState(id: string): Promise<RolloutState | undefined> {
    return parseStoredIfAny(StoredRolloutState, await this.store.read(id, RolloutDoc.State), RolloutDoc.State);
  }

  private refuseConflicts(
    request: AdmissionRequest,
    live: readonly { id: string; admitted: Admitted; phase: string; units: readonly string[] }[],
  ): void {
    const sameName = live.find((r) => r.admitted.name === request.name);
    if (sameName !== undefined)
      throw new PlannerError(
        PlannerErrorCode.RolloutExists,
        `rollout "${request.name}" is already active as ${sameName.id} (${sameName.phase}); abort or finish it first`,
        { context: { id: sameName.id, details: [{ path: 'metadata.name', message: `active as ${sameName.id}` }] } },
      );
    const conflicts = live
      .map((r) => ({ ...r, overlap: overlappingUnits(request.units, r.units) }))
      .filter((r) => r.overlap.length > 0);
    if (conflicts.length === 0) return;
    const details = conflicts.map((r) => {
      const named = r.overlap.slice(0, UNITS_NAMED).join(', ');
      const more = r.overlap.length > UNITS_NAMED ? ` and ${r.overlap.length - UNITS_NAMED} more` : '';
      return {
        path: `rollouts.${r.id}`,
        message: `"${r.admitted.name}" (${r.phase}) drives ${r.overlap.length} of these units: ${named}${more}`,
      };
    });
    throw new PlannerError(
      PlannerErrorCode.UnitsOverlap,
      `units of this rollout are driven by active rollout${conflicts.length === 1 ? '' : 's'} ${conflicts
        .map((r) => r.id)
        .join(
          ', ',
        )}: two rollouts never move one workload; abort or finish ${conflicts.length === 1 ? 'it' : 'them'} first`,
      { context: { rollouts: conflicts.map((r) => r.id), details } },
    );
  }
}
