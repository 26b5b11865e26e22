import { createHash } from 'node:crypto';
import type { HealthReport, RolloutStatus } from '@meshwave/contracts';
import type { Clock } from '@meshwave/reconcile';
import type { StateStore, VersionedDoc } from '@meshwave/store';
import type { Received } from '../core/rollout-state.js';

/** A rollout's status with its entity tag: set for a finished rollout's, whose status is a function of its inputs. */
export interface TaggedStatus {
  readonly status: RolloutStatus;
  /** a weak entity tag of the status's content (`W/"…"`); absent for an active rollout (its estimate moves with time) */
  readonly etag?: string;
}

/** Finished rollouts whose last status is held (a dashboard follows the 20 newest; a rollout read again moves last). */
export const FINISHED_STATUSES_KEPT = 64;

/**
 * How late a finished rollout's status may fold in a changed health report. Agents re-send their health whole
 * every 30 s, each a new object, so a status rebuilt on every change of one would be rebuilt on nearly every poll
 * of a large fleet; a change of the rollout's own documents (an agent's progress) is folded in at once.
 */
export const HEALTH_FOLD_MS = 10_000;

interface Held extends TaggedStatus {
  readonly etag: string;
  /** the rollout's documents' versions it was built from */
  readonly versions: ReadonlyMap<string, number>;
  /** the health entries it was built from, by identity (a report received is a new entry) */
  readonly health: ReadonlyMap<string, Received<HealthReport>>;
  readonly builtAt: number;
}

function tagOf(status: RolloutStatus): string {
  return `W/"${createHash('sha1').update(JSON.stringify(status)).digest('base64url')}"`;
}

const sameVersions = (a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean =>
  a.size === b.size && [...a].every(([name, version]) => b.get(name) === version);

const sameHealth = (
  a: ReadonlyMap<string, Received<HealthReport>>,
  b: ReadonlyMap<string, Received<HealthReport>>,
): boolean => a.size === b.size && [...a].every(([key, entry]) => b.get(key) === entry);

/**
 * The statuses of finished rollouts as last built (issue 21): a finished rollout's status still changes as its
 * agents report after the end (a gateway's old Deployment removed), so a dashboard keeps reading it, slowly and
 * with `If-None-Match`. Building it reads and validates the rollout's whole plan and walks every unit: at fleet
 * scale that is most of a status read, and a finished rollout's scope is kept by no reader (RolloutReads). So the
 * built status is held with the versions of the documents it came from: a read whose documents are unchanged costs
 * one round trip of versions (no document's value is fetched) and no build, whatever the fleet's size.
 *
 * Bound: `kept` rollouts, the least recently read dropped first; each holds one status (its waves, not its units).
 */
export class FinishedStatuses {
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly store: Pick<StateStore, 'readScopeChanges'>,
    private readonly health: ReadonlyMap<string, Received<HealthReport>>,
    private readonly clock: Clock,
    private readonly kept = FINISHED_STATUSES_KEPT,
  ) {}

  /** the held status of `id` while its documents are those it was built from; undefined: build it again */
  async current(id: string): Promise<TaggedStatus | undefined> {
    const held = this.held.get(id);
    if (held === undefined) return undefined;
    const { versions, changed } = await this.store.readScopeChanges(id, held.versions);
    const healthSettled = sameHealth(held.health, this.health) || this.clock.now() - held.builtAt < HEALTH_FOLD_MS;
    if (changed.size > 0 || !sameVersions(versions, held.versions) || !healthSettled) {
      this.held.delete(id);
      return undefined;
    }
    this.held.delete(id);
    this.held.set(id, held);
    return { status: held.status, etag: held.etag };
  }

  /**
   * Holds the status of finished rollout `id`, built from `docs` (read after, or with, the versions given: a
   * document written meanwhile only makes the next read build again).
   */
  keep(id: string, docs: ReadonlyMap<string, VersionedDoc>, status: RolloutStatus): TaggedStatus {
    const etag = tagOf(status);
    const versions = new Map([...docs].map(([name, doc]) => [name, doc.version]));
    this.held.delete(id);
    this.held.set(id, { status, etag, versions, health: new Map(this.health), builtAt: this.clock.now() });
    for (const oldest of this.held.keys()) {
      if (this.held.size <= this.kept) break;
      this.held.delete(oldest);
    }
    return { status, etag };
  }
}
