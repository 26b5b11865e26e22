import { StoreError, StoreErrorCode } from './errors.js';
import type {
  AuditEntry,
  Lease,
  StateStore,
  TransitionRequest,
  TransitionResult,
  VersionedDoc,
} from './state-store.js';
import { DEFAULT_AUDIT_LIMIT, checkScope, checkTransition, checkTtl, kindOf } from './validation.js';

export interface InMemoryStoreOptions {
  /** clock for lease expiry; default `Date.now` */
  readonly now?: () => number;
  /** entries kept per audit stream (each scope's and the fleet's); default 10 000 */
  readonly auditMaxLen?: number;
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
  private readonly fleetAudit: { id: string; entry: AuditEntry }[] = [];
  private readonly scopeAudit = new Map<string, { id: string; entry: AuditEntry }[]>();
  private readonly timers = new Map<string, Map<string, number>>();
  private lastAuditMs = 0;
  private auditSeq = 0;
  private closed = false;
  private readonly now: () => number;
  private readonly auditMaxLen: number;

  constructor(options: InMemoryStoreOptions) {
    this.now = options.now ?? Date.now;
    this.auditMaxLen = options.auditMaxLen ?? 10_000;
  }

  private open(): void {
    if (this.closed) throw new StoreError(StoreErrorCode.Closed, 'the state store is closed');
  }

  async readScope(scope: string): Promise<ReadonlyMap<string, VersionedDoc>> {
    this.open();
    checkScope(scope);
    const out = new Map<string, VersionedDoc>();
    for (const [name, doc] of this.scopes.get(scope)?.docs ?? [])
      out.set(name, { value: JSON.parse(doc.json) as unknown, version: doc.version });
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
    const epoch = (this.leaseEpochs.get(name) ?? 0) + 1;
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
    // Stream ids as Redis makes them: milliseconds, then a sequence within the millisecond.
    const ms = Math.max(this.now(), this.lastAuditMs);
    this.auditSeq = ms === this.lastAuditMs ? this.auditSeq + 1 : 0;
    this.lastAuditMs = ms;
    const id = `${ms}-${this.auditSeq}`;
    const copy = JSON.parse(JSON.stringify(entry)) as AuditEntry;
    let scoped = this.scopeAudit.get(entry.scope);
    if (scoped === undefined) {
      scoped = [];
      this.scopeAudit.set(entry.scope, scoped);
    }
    for (const stream of [this.fleetAudit, scoped]) {
      stream.push({ id, entry: copy });
      if (stream.length > this.auditMaxLen) stream.splice(0, stream.length - this.auditMaxLen);
    }
    return id;
  }

  async readAudit(options: { readonly scope?: string; readonly limit?: number } = {}): Promise<readonly AuditEntry[]> {
    this.open();
    const stream = options.scope === undefined ? this.fleetAudit : (this.scopeAudit.get(options.scope) ?? []);
    const limit = options.limit ?? DEFAULT_AUDIT_LIMIT;
    return stream
      .slice(Math.max(0, stream.length - limit))
      .map((e) => JSON.parse(JSON.stringify(e.entry)) as AuditEntry);
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
