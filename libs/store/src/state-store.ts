/** A stored document with its version (incremented by every write). */
export interface VersionedDoc<T = unknown> {
  readonly value: T;
  readonly version: number;
}

/** One write of a transition. `expectedVersion` 0 means "must not exist"; undefined means "whatever it is". */
export interface DocWrite {
  readonly name: string;
  /** JSON-serialisable value; `null` deletes the document */
  readonly value: unknown;
  readonly expectedVersion?: number;
}

/** Who did what, when and why. */
export interface AuditEntry {
  readonly actor: string;
  readonly action: string;
  readonly scope: string;
  readonly reason?: string;
  readonly at: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** An audit entry as stored, with its stream id (`<ms>-<seq>`, ordered; the ms are the writer's clock). */
export interface AuditRecord extends AuditEntry {
  readonly id: string;
}

/** Which audit entries to read: the newest `limit` (default 100) before the `before` id, of a scope or the fleet. */
export interface AuditQuery {
  /** one scope's stream; absent: the fleet-wide stream (every scope's entries) */
  readonly scope?: string;
  readonly limit?: number;
  /** a stream id: only entries older than it (the cursor of the next older page) */
  readonly before?: string;
}

export interface TransitionRequest {
  /** the documents' scope, e.g. a rollout id; all keys of a scope share a Redis Cluster hash slot */
  readonly scope: string;
  /** the writer's fencing epoch: refused when a higher epoch has written to this scope */
  readonly epoch: number;
  readonly writes: readonly DocWrite[];
  readonly audit?: AuditEntry;
}

export type TransitionResult =
  | { readonly ok: true; readonly versions: Readonly<Record<string, number>> }
  | { readonly ok: false; readonly reason: 'stale-epoch'; readonly currentEpoch: number }
  | { readonly ok: false; readonly reason: 'version-conflict'; readonly name: string; readonly actualVersion: number };

/** A held leader lease; `epoch` is the fencing token every write and command carries (it grows with every acquisition). */
export interface Lease {
  readonly name: string;
  readonly holder: string;
  readonly epoch: number;
}

/** A scope's documents as a reader that keeps what it read before sees them (see `readScopeChanges`). */
export interface ScopeChanges {
  /** every document of the scope now, by name */
  readonly versions: ReadonlyMap<string, number>;
  /** the documents whose version is not the one the reader holds (new ones included) */
  readonly changed: ReadonlyMap<string, VersionedDoc>;
}

/** Durable state. Redis in production, in memory for the embedded default and unit tests. */
export interface StateStore {
  /** every document of a scope, in one round trip */
  readScope(scope: string): Promise<ReadonlyMap<string, VersionedDoc>>;
  read(scope: string, name: string): Promise<VersionedDoc | undefined>;
  /**
   * As `readScope`, in one round trip and from one snapshot, but only the documents whose version differs from
   * `known` (name → version the reader holds) come with their value: a reader that keeps a large scope (a
   * rollout's plan) fetches and parses only what changed.
   */
  readScopeChanges(scope: string, known: ReadonlyMap<string, number>): Promise<ScopeChanges>;
  /** the document's version without its value; 0 when it does not exist */
  readVersion(scope: string, name: string): Promise<number>;
  /** all writes apply or none do; checks the epoch and every expected version first */
  transition(request: TransitionRequest): Promise<TransitionResult>;
  /**
   * scopes that hold a document of this kind (e.g. every rollout). A document's kind is its name up to the
   * first `/`: `rollout` and `rollout/status` are of kind `rollout`, `target/ns-a` of kind `target`.
   */
  listScopes(kind: string): Promise<readonly string[]>;

  /** takes the lease when free (SET NX PX); the epoch increases with every acquisition */
  acquireLease(name: string, holder: string, ttlMs: number): Promise<Lease | undefined>;
  /** extends the lease only if still held by this holder and epoch */
  renewLease(lease: Lease, ttlMs: number): Promise<boolean>;
  releaseLease(lease: Lease): Promise<void>;
  /** the holder of the lease now, if any */
  leaseHolder(name: string): Promise<Lease | undefined>;

  /**
   * Appends to the scope's and the fleet's audit streams; returns the entry's stream id. Audit is kept by age,
   * never by count: an entry is dropped once it is older than the store's retention (ADR 0015), so no number of
   * later entries can push an entry out early.
   */
  appendAudit(entry: AuditEntry): Promise<string>;
  /** the newest `limit` entries within the retention (before `before`, if given), oldest first */
  readAudit(options?: AuditQuery): Promise<readonly AuditRecord[]>;

  /** "look again at" timers that survive restarts; setting a member again moves its time */
  setTimer(set: string, member: string, atMs: number): Promise<void>;
  /** members whose time is at or before `nowMs`, earliest first; they stay until cleared (at-least-once) */
  dueTimers(set: string, nowMs: number): Promise<readonly string[]>;
  clearTimer(set: string, member: string): Promise<void>;

  close(): Promise<void>;
}
