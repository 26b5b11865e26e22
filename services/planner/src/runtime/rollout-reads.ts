import type { HealthReport } from '@meshwave/contracts';
import type { StateStore, VersionedDoc } from '@meshwave/store';
import type { Received } from '../core/rollout-state.js';
import { ValidatedDocs, loadRollout, type LoadedRollout } from './store-layout.js';

/** A rollout's scope as read, with its documents, and the rollout loaded from them (undefined: none). */
export interface RolloutRead {
  readonly docs: ReadonlyMap<string, VersionedDoc>;
  readonly loaded: LoadedRollout | undefined;
}

/** how long a demoted leader keeps the rollouts' documents it held, should it lead again (ADR 0032's addendum) */
export const HELD_AFTER_DEMOTION_MS = 60_000;

/**
 * The rollouts' scopes as the leader last read them. A reconcile (and a status read of a driven rollout) fetches
 * only the documents whose version changed (`readScopeChanges`) and validates only those: the rollout's record
 * holds its whole plan (every unit), and fetching and parsing it again on every reconcile and every status poll
 * was most of the planner's CPU and garbage in the process-mode fleet benchmark (issue 15, ADR 0032).
 *
 * Bounds: one entry per rollout the leader drives (`kept`); a rollout that ends or a leader that stands down
 * drops its entries (`forget`), and a document gone from the store is dropped at the next read. A read of any
 * other rollout (a finished one, on a follower) is a plain read, cached nowhere. Values are shared between
 * reads: no caller changes them (the engine's state is parsed afresh from them on every read).
 */
export class RolloutReads {
  private readonly scopes = new Map<string, ReadonlyMap<string, VersionedDoc>>();
  private readonly validated = new ValidatedDocs();
  private forgetting: NodeJS.Timeout | undefined;

  constructor(private readonly store: Pick<StateStore, 'readScope' | 'readScopeChanges'>) {}

  /** the rollout `id`; `keep`: a rollout this leader drives, whose scope is kept for the next read */
  async read(id: string, health: ReadonlyMap<string, Received<HealthReport>>, keep: boolean): Promise<RolloutRead> {
    if (!keep && !this.scopes.has(id)) {
      const docs = await this.store.readScope(id);
      return { docs, loaded: loadRollout(docs, health, new ValidatedDocs(), id) };
    }
    const held = this.scopes.get(id) ?? new Map<string, VersionedDoc>();
    const known = new Map([...held].map(([name, doc]) => [name, doc.version]));
    const { versions, changed } = await this.store.readScopeChanges(id, known);
    const docs = new Map<string, VersionedDoc>();
    for (const [name, version] of versions) {
      const doc = changed.get(name) ?? held.get(name);
      if (doc !== undefined && doc.version === version) docs.set(name, doc);
    }
    const loaded = loadRollout(docs, health, this.validated, id);
    const once = this.validatedOnly(id, docs);
    // A read that overlapped another (a status poll during a reconcile) may store an older picture: harmless,
    // the next read compares versions again.
    if (keep || this.scopes.has(id)) this.scopes.set(id, once);
    return { docs: once, loaded };
  }

  /**
   * `docs` with each value validated at its version replaced by the validated one: the record (the whole plan)
   * and the reports are held once, not also as the JSON they were parsed from (issue 15).
   */
  private validatedOnly(id: string, docs: ReadonlyMap<string, VersionedDoc>): Map<string, VersionedDoc> {
    const out = new Map<string, VersionedDoc>();
    for (const [name, doc] of docs) {
      const held = this.validated.held(id, name);
      out.set(name, held !== undefined && held.version === doc.version ? held : doc);
    }
    return out;
  }

  /**
   * A document this leader just wrote at `version` (an agent's report, ADR 0048), held as if read: the next read
   * of a kept scope neither fetches nor parses it. A scope not kept is left alone.
   */
  prime(id: string, name: string, version: number, value: unknown): void {
    const held = this.scopes.get(id);
    if (held === undefined) return;
    this.scopes.set(id, new Map(held).set(name, { value, version }));
    this.validated.prime(id, name, version, value);
  }

  /** drops what is kept of every rollout in `ms` (a leader that stood down), unless `keepAll` comes first */
  forgetAllAfter(ms: number): void {
    clearTimeout(this.forgetting);
    this.forgetting = setTimeout(() => this.forget(), ms);
    this.forgetting.unref();
  }

  /** cancels `forgetAllAfter` (the same process leads again) */
  keepAll(): void {
    clearTimeout(this.forgetting);
    this.forgetting = undefined;
  }

  /** drops what is kept of `id` (a rollout that ended), or of every rollout */
  forget(id?: string): void {
    if (id === undefined) {
      for (const scope of this.scopes.keys()) this.validated.retain(scope);
      this.scopes.clear();
      return;
    }
    this.scopes.delete(id);
    this.validated.retain(id);
  }
}
