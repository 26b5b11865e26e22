import { createHash } from 'node:crypto';
import type { Lease, StateStore, TransitionResult } from '@meshwave/store';
import { parseStored, type StoredClusterReport, type StoredVmGroupReport } from './stored-documents.js';

/** What this leader last stored of one report. */
interface StoredReport {
  /** the lease epoch it was stored under: another term knows nothing of it */
  readonly epoch: number;
  readonly generation: number;
  /** of a whole report as it came; none for one merged from a delta (a delta is never re-sent the same) */
  readonly digest?: string;
  /** its version in the store after the write */
  readonly version: number;
  /** the report itself: what the sender's next delta applies to (ADR 0048) */
  readonly value: unknown;
}

/** Where a report is kept: its rollout's scope, its document and the schema it is read back with. */
export interface ReportTarget {
  readonly scope: string;
  readonly name: string;
  readonly schema: typeof StoredClusterReport | typeof StoredVmGroupReport;
}

/** What a report write did; a refused transition is the store's answer, for the caller to act on. */
export type ReportWrite =
  { readonly outcome: 'stored' | 'unchanged' | 'older' } | Extract<TransitionResult, { ok: false }>;

/** A digest of a report's content: the same report re-sent gives the same one (JSON of one target's report). */
function digestOf(value: unknown): string {
  return createHash('sha1').update(JSON.stringify(value)).digest('base64');
}

/**
 * The leader's writes of agents' reports (the newest per target, in a rollout's scope). Agents re-send their
 * whole report every `MESHWAVE_REPORT_RESEND_MS` whether or not it changed (level-triggered): a report equal to
 * the one this leader stored last (same generation, same digest) whose version the store still holds is not
 * written again: it costs one version read instead of reading, validating and writing the report, and it does not
 * bump the document's version (which made the next reconcile fetch and validate it again). Only what was stored
 * is remembered: a write that failed or was refused (store down, conflict, another leader) leaves the last stored
 * report as it was, so the next re-send differs from it and is stored; a document the store lost is written
 * again by the next re-send; a new term remembers nothing and reads the store first (ADR 0032).
 *
 * Bound: one entry per target of each rollout in `driven` when a report of a rollout not seen before arrives
 * (entries of rollouts that ended are dropped then).
 */
export class ReportWrites {
  private readonly scopes = new Map<string, Map<string, StoredReport>>();

  /**
   * `stored`: told of every report written with its new version (the reconcile's reads then hold it without
   * fetching and parsing it again)
   */
  constructor(
    private readonly store: Pick<StateStore, 'read' | 'readVersion' | 'transition'>,
    private readonly driven: (scope: string) => boolean,
    private readonly stored: (scope: string, name: string, version: number, value: unknown) => void = () => {},
  ) {}

  /**
   * The report of `target` a delta applies to: the one this leader stored in this term, else the store's (a new
   * term, a failed write); undefined when there is none.
   */
  async current<T>(lease: Lease, target: ReportTarget): Promise<T | undefined> {
    const known = this.scopes.get(target.scope)?.get(target.name);
    if (known?.epoch === lease.epoch) return known.value as T;
    const existing = await this.store.read(target.scope, target.name);
    return existing === undefined ? undefined : (parseStored(target.schema, existing, target.name) as T);
  }

  /**
   * Stores `value` as `name` of `scope` unless a newer generation is stored, or this very report already is.
   * `merged`: a report made from a delta (ADR 0048), not compared with what is stored (a delta always changes it).
   */
  async write(
    lease: Lease,
    target: ReportTarget,
    value: { readonly generation: number },
    merged = false,
  ): Promise<ReportWrite> {
    const { scope, name, schema } = target;
    const digest = merged ? undefined : digestOf(value);
    const known = this.scopes.get(scope)?.get(name);
    const mine = known?.epoch === lease.epoch ? known : undefined;
    // the same report, and the store still holds the version this leader wrote (a write lost in the store since,
    // or a document gone, is written again)
    if (
      mine !== undefined &&
      digest !== undefined &&
      mine.generation === value.generation &&
      mine.digest === digest &&
      (await this.store.readVersion(scope, name)) === mine.version
    )
      return { outcome: 'unchanged' };
    let expectedVersion: number;
    if (mine !== undefined) {
      if (mine.generation > value.generation) return { outcome: 'older' };
      expectedVersion = mine.version;
    } else {
      const existing = await this.store.read(scope, name);
      if (existing && parseStored(schema, existing, name).generation > value.generation) return { outcome: 'older' };
      expectedVersion = existing?.version ?? 0;
    }
    const r = await this.store.transition({ scope, epoch: lease.epoch, writes: [{ name, value, expectedVersion }] });
    if (!r.ok) {
      // what the store holds is not known now: the next report of this target reads it
      this.scopes.get(scope)?.delete(name);
      return r;
    }
    const version = r.versions[name] ?? expectedVersion + 1;
    this.remember(scope, name, {
      epoch: lease.epoch,
      generation: value.generation,
      ...(digest === undefined ? {} : { digest }),
      version,
      value,
    });
    this.stored(scope, name, version, value);
    return { outcome: 'stored' };
  }

  private remember(scope: string, name: string, report: StoredReport): void {
    let reports = this.scopes.get(scope);
    if (reports === undefined) {
      for (const s of this.scopes.keys()) if (!this.driven(s)) this.scopes.delete(s);
      if (!this.driven(scope)) return;
      this.scopes.set(scope, (reports = new Map()));
    }
    reports.set(name, report);
  }
}
