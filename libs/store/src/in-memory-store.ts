import { StoreError, StoreErrorCode } from './errors.js';
import type {
  AuditEntry,
  AuditQuery,
  AuditRecord,
  Lease,
  ReadScopeOptions,
  StateStore,
  TransitionRequest,
  TransitionResult,
  UnchangedDoc,
  VersionedDoc,
} from './state-store.js';
import {
  DEFAULT_AUDIT_RETENTION_MS,
  checkAuditLimit,
  checkRetention,
  checkScope,
  checkTransition,
  checkTtl,
  kindOf,
  parseStreamId,
} from './validation.js';

export interface InMemoryStoreOptions {
  /** clock for lease expiry and audit ids and retention; default `Date.now` */
  readonly now?: () => number;
  /** how long an audit entry is kept, in ms; default 90 days. Never a count: see ADR 0015 */
  readonly auditRetentionMs?: number;
  /**
   * a clock (ms) lease epochs never fall below, as Redis's own clock is for the Redis store: a store started
   * empty after a loss then still hands out epochs above every one handed out before (ADR 0025). Default: none
   * (epochs count from 1), as an in-memory store's data ends with the process that saw its epochs.
   */
  readonly eraClock?: () => number;
}

interface StoredAudit {
  readonly ms: number;
  readonly seq: number;
  readonly entry: AuditEntry;
}

interface StoredDoc {
  readonly json: string;
  readonly version: number;
}

interface ScopeState {
  readonly docs: Map<string, StoredDoc>;
  epoch: number;
}

interface HeldLease {
  readonly holder: string;
  readonly epoch: number;
  expiresAt: number;
}

/**
 * The StateStore in this process, with the Redis store's semantics: values are stored as JSON (a read returns
 * a copy), transitions are all-or-nothing, leases expire on the clock, audit streams are trimmed.
 */
class InMemoryStateStore implements StateStore {
  private readonly scopes = new Map<string, ScopeState>();
  private readonly leases = new Map<string, HeldLease>();
  private readonly leaseEpochs = new Map<string, number>();
  /** the fleet's stream, in id order; a scope's stream is its entries of it (both have one retention) */
  private readonly audit: StoredAudit[] = [];
  private readonly timers = new Map<string, Map<string, number>>();
  private lastAuditMs = 0;
  private auditSeq = 0;
  private closed = false;
  private readonly now: () => number;
  private readonly auditRetentionMs: number;
  private readonly eraClock: (() => number) | undefined;

  constructor(options: InMemoryStoreOptions) {
    this.now = options.now ?? Date.now;
    this.eraClock = options.eraClock;
    this.auditRetentionMs = checkRetention(options.auditRetentionMs ?? DEFAULT_AUDIT_RETENTION_MS);
  }

  private open(): void {
    if (this.closed) throw new StoreError(StoreErrorCode.Closed, 'the state store is closed');
  }

  async readScope(
    scope: string,
    options?: ReadScopeOptions,
  ): Promise<ReadonlyMap<string, VersionedDoc | UnchangedDoc>> {
    this.open();
    checkScope(scope);
    const out = new Map<string, VersionedDoc | UnchangedDoc>();
    for (const [name, doc] of this.scopes.get(scope)?.docs ?? []) {
      if (options?.unchangedSince?.get(name) === doc.version)
        out.set(name, { value: undefined, version: doc.version, unchanged: true });
      else out.set(name, { value: JSON.parse(doc.json) as unknown, version: doc.version });
    }
    return out;
  }

  async read(scope: string, name: string): Promise<VersionedDoc | undefined> {
    this.open();
    checkScope(scope);
    const doc = this.scopes.get(scope)?.docs.get(name);
    return doc === undefined ? undefined : { value: JSON.parse(doc.json) as unknown, version: doc.version };
  }

  async transition(request: TransitionRequest): Promise<TransitionResult> {
    this.open();
    const writes = checkTransition(request);
    let state = this.scopes.get(request.scope);
    const currentEpoch = state?.epoch ?? 0;
    if (request.epoch < currentEpoch) return { ok: false, reason: 'stale-epoch', currentEpoch };
    // Checks against the state as it would be after the earlier writes of the same request, as the Lua script does.
    const staged = new Map<string, StoredDoc | undefined>();
    const versionOf = (name: string): number =>
      staged.has(name) ? (staged.get(name)?.version ?? 0) : (state?.docs.get(name)?.version ?? 0);
    const versions: Record<string, number> = {};
    for (const w of writes) {
      const actual = versionOf(w.name);
      if (w.expectedVersion !== undefined && w.expectedVersion !== actual) {
        return { ok: false, reason: 'version-conflict', name: w.name, actualVersion: actual };
      }
      const next = w.json === null ? undefined : { json: w.json, version: actual + 1 };
      staged.set(w.name, next);
      versions[w.name] = next?.version ?? 0;
    }
    if (state === undefined) {
      state = { docs: new Map(), epoch: 0 };
      this.scopes.set(request.scope, state);
    }
    state.epoch = Math.max(state.epoch, request.epoch);
    for (const [name, doc] of staged) {
      if (doc === undefined) state.docs.delete(name);
      else state.docs.set(name, doc);
    }
    if (request.audit !== undefined) this.recordAudit({ ...request.audit, scope: request.scope });
    return { ok: true, versions };
  }

  async listScopes(kind: string): Promise<readonly string[]> {
    this.open();
    const out: string[] = [];
    for (const [scope, state] of this.scopes) {
      if ([...state.docs.keys()].some((name) => kindOf(name) === kind)) out.push(scope);
    }
    return out.sort();
  }

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<Lease | undefined> {
    this.open();
    checkTtl(ttlMs);
    if (this.liveLease(name) !== undefined) return undefined;
    const epoch = Math.max((this.leaseEpochs.get(name) ?? 0) + 1, Math.floor(this.eraClock?.() ?? 0));
    this.leaseEpochs.set(name, epoch);
    this.leases.set(name, { holder, epoch, expiresAt: this.now() + ttlMs });
    return { name, holder, epoch };
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<boolean> {
    this.open();
    checkTtl(ttlMs);
    const held = this.liveLease(lease.name);
    if (held === undefined || held.holder !== lease.holder || held.epoch !== lease.epoch) return false;
    held.expiresAt = this.now() + ttlMs;
    return true;
  }

  async releaseLease(lease: Lease): Promise<void> {
    this.open();
    const held = this.liveLease(lease.name);
    if (held !== undefined && held.holder === lease.holder && held.epoch === lease.epoch)
      this.leases.delete(lease.name);
  }

  async leaseHolder(name: string): Promise<Lease | undefined> {
    this.open();
    const held = this.liveLease(name);
    return held === undefined ? undefined : { name, holder: held.holder, epoch: held.epoch };
  }

  private liveLease(name: string): HeldLease | undefined {
    const held = this.leases.get(name);
    if (held !== undefined && held.expiresAt <= this.now()) {
      this.leases.delete(name);
      return undefined;
    }
    return held;
  }

  async appendAudit(entry: AuditEntry): Promise<string> {
    this.open();
    checkScope(entry.scope);
    return this.recordAudit(entry);
  }

  private recordAudit(entry: AuditEntry): string {
    // Stream ids as the Redis store makes them: the clock's milliseconds (never going back), then a sequence.
    const ms = Math.max(this.now(), this.lastAuditMs);
    this.auditSeq = ms === this.lastAuditMs ? this.auditSeq + 1 : 0;
    this.lastAuditMs = ms;
    this.audit.push({ ms, seq: this.auditSeq, entry: JSON.parse(JSON.stringify(entry)) as AuditEntry });
    this.trimAudit();
    return `${ms}-${this.auditSeq}`;
  }

  /** Drops what is older than the retention (XADD MINID in Redis): by age only. */
  private trimAudit(): void {
    const minMs = this.now() - this.auditRetentionMs;
    let old = 0;
    while (old < this.audit.length && this.audit[old]!.ms < minMs) old++;
    if (old > 0) this.audit.splice(0, old);
  }

  async readAudit(options: AuditQuery = {}): Promise<readonly AuditRecord[]> {
    this.open();
    const limit = checkAuditLimit(options.limit);
    const before = options.before === undefined ? undefined : parseStreamId(options.before);
    this.trimAudit();
    const out: AuditRecord[] = [];
    for (let i = this.audit.length - 1; i >= 0 && out.length < limit; i--) {
      const a = this.audit[i]!;
      if (before !== undefined && (a.ms > before.ms || (a.ms === before.ms && a.seq >= before.seq))) continue;
      if (options.scope !== undefined && a.entry.scope !== options.scope) continue;
      out.push({ ...(JSON.parse(JSON.stringify(a.entry)) as AuditEntry), id: `${a.ms}-${a.seq}` });
    }
    return out.reverse();
  }

  async setTimer(set: string, member: string, atMs: number): Promise<void> {
    this.open();
    let timers = this.timers.get(set);
    if (timers === undefined) {
      timers = new Map();
      this.timers.set(set, timers);
    }
    timers.set(member, atMs);
  }

  async dueTimers(set: string, nowMs: number): Promise<readonly string[]> {
    this.open();
    return [...(this.timers.get(set) ?? [])]
      .filter(([, at]) => at <= nowMs)
      .sort(([ma, a], [mb, b]) => a - b || (ma < mb ? -1 : ma > mb ? 1 : 0))
      .map(([member]) => member);
  }

  async clearTimer(set: string, member: string): Promise<void> {
    this.open();
    this.timers.get(set)?.delete(member);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** A StateStore in this process (the embedded default and unit tests). */
export function createInMemoryStore(options: InMemoryStoreOptions = {}): StateStore {
  return new InMemoryStateStore(options);
}
