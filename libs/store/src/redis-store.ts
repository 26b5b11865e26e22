import { Redis, type ChainableCommander, type RedisOptions } from 'ioredis';
import { StoreError, StoreErrorCode } from './errors.js';
import { KeyLayout, leaseValue, parseLeaseValue } from './keys.js';
import {
  ACQUIRE_LEASE,
  APPEND_AUDIT,
  READ_SCOPE_CHANGES,
  RELEASE_LEASE,
  RENEW_LEASE,
  TRANSITION,
} from './redis-scripts.js';
import type {
  AuditEntry,
  AuditQuery,
  AuditRecord,
  Lease,
  ScopeChanges,
  StateStore,
  TransitionRequest,
  TransitionResult,
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

export interface RedisStoreOptions {
  /** `redis://host:port/db`; ignored when `redis` is given */
  readonly url?: string;
  /** a client to use (it is not closed by `close()`); default: one made from `url` */
  readonly redis?: Redis;
  /** extra ioredis options for the client made from `url` */
  readonly redisOptions?: RedisOptions;
  /** first segment of every key; default `mw` */
  readonly keyPrefix?: string;
  /** how long an audit entry is kept, in ms; default 90 days. Never a count: see ADR 0015 */
  readonly auditRetentionMs?: number;
  /** clock of audit ids and retention, for tests; default Redis's own clock, the one every writer shares */
  readonly now?: () => number;
}

/** The scripts, registered with `defineCommand` (EVALSHA, falling back to EVAL once per connection). */
interface ScriptCommands {
  mwAcquireLease(holderKey: string, epochKey: string, holder: string, ttlMs: number): Promise<number | null>;
  mwRenewLease(holderKey: string, expected: string, ttlMs: number): Promise<number>;
  mwReleaseLease(holderKey: string, expected: string): Promise<number>;
  mwReadScopeChanges(docsKey: string, versionsKey: string, ...known: string[]): Promise<string[]>;
}

/** The scripts queued on a pipeline (a queued command returns the pipeline, not a promise). */
interface PipelinedScripts {
  mwTransition(...args: (string | number)[]): ChainableCommander;
  mwAppendAudit(key: string, nowMs: number, retentionMs: number, json: string): ChainableCommander;
}

function unexpected(what: string, reply: unknown): StoreError {
  return new StoreError(StoreErrorCode.UnexpectedReply, `unexpected reply to ${what}: ${JSON.stringify(reply)}`);
}

class RedisStateStore implements StateStore {
  private readonly scripts: ScriptCommands;
  private readonly keys: KeyLayout;
  private readonly auditRetentionMs: number;
  private readonly now: () => number;
  /** -1 asks the audit script for Redis's clock */
  private readonly auditNow: () => number;

  constructor(
    private readonly redis: Redis,
    private readonly ownsClient: boolean,
    options: RedisStoreOptions,
  ) {
    this.keys = new KeyLayout(options.keyPrefix ?? 'mw');
    this.auditRetentionMs = checkRetention(options.auditRetentionMs ?? DEFAULT_AUDIT_RETENTION_MS);
    this.now = options.now ?? Date.now;
    this.auditNow = options.now ?? (() => -1);
    redis.defineCommand('mwTransition', { lua: TRANSITION, numberOfKeys: 5 });
    redis.defineCommand('mwAppendAudit', { lua: APPEND_AUDIT, numberOfKeys: 1 });
    redis.defineCommand('mwAcquireLease', { lua: ACQUIRE_LEASE, numberOfKeys: 2 });
    redis.defineCommand('mwRenewLease', { lua: RENEW_LEASE, numberOfKeys: 1 });
    redis.defineCommand('mwReleaseLease', { lua: RELEASE_LEASE, numberOfKeys: 1 });
    redis.defineCommand('mwReadScopeChanges', { lua: READ_SCOPE_CHANGES, numberOfKeys: 2 });
    this.scripts = redis as unknown as ScriptCommands;
  }

  async readScope(scope: string): Promise<ReadonlyMap<string, VersionedDoc>> {
    checkScope(scope);
    // MULTI: both hashes from one snapshot, in one round trip.
    const replies = await this.redis.multi().hgetall(this.keys.docs(scope)).hgetall(this.keys.versions(scope)).exec();
    const docs = replies?.[0]?.[1] as Record<string, string> | undefined;
    const versions = replies?.[1]?.[1] as Record<string, string> | undefined;
    if (docs === undefined || versions === undefined) throw unexpected('readScope', replies);
    const out = new Map<string, VersionedDoc>();
    for (const [name, json] of Object.entries(docs))
      out.set(name, { value: JSON.parse(json) as unknown, version: Number(versions[name] ?? 0) });
    return out;
  }

  async readScopeChanges(scope: string, known: ReadonlyMap<string, number>): Promise<ScopeChanges> {
    checkScope(scope);
    const args = [...known].flatMap(([name, version]) => [name, String(version)]);
    const reply = await this.scripts.mwReadScopeChanges(this.keys.docs(scope), this.keys.versions(scope), ...args);
    if (!Array.isArray(reply) || reply.length % 3 !== 0) throw unexpected('readScopeChanges', reply);
    const versions = new Map<string, number>();
    const changed = new Map<string, VersionedDoc>();
    for (let i = 0; i < reply.length; i += 3) {
      const [name, version, json] = [reply[i]!, Number(reply[i + 1]), reply[i + 2]!];
      versions.set(name, version);
      if (json !== '') changed.set(name, { value: JSON.parse(json) as unknown, version });
    }
    return { versions, changed };
  }

  async readVersion(scope: string, name: string): Promise<number> {
    checkScope(scope);
    // a version without its document is no document (see TRANSITION)
    const replies = await this.redis
      .multi()
      .hexists(this.keys.docs(scope), name)
      .hget(this.keys.versions(scope), name)
      .exec();
    const exists = replies?.[0]?.[1] as number | undefined;
    const version = replies?.[1]?.[1] as string | null | undefined;
    if (exists === undefined || version === undefined) throw unexpected('readVersion', replies);
    return exists === 1 ? Number(version ?? 0) : 0;
  }

  async read(scope: string, name: string): Promise<VersionedDoc | undefined> {
    checkScope(scope);
    const replies = await this.redis
      .multi()
      .hget(this.keys.docs(scope), name)
      .hget(this.keys.versions(scope), name)
      .exec();
    const json = replies?.[0]?.[1] as string | null | undefined;
    const version = replies?.[1]?.[1] as string | null | undefined;
    if (json === undefined || version === undefined) throw unexpected('read', replies);
    return json === null ? undefined : { value: JSON.parse(json) as unknown, version: Number(version ?? 0) };
  }

  async transition(request: TransitionRequest): Promise<TransitionResult> {
    checkScope(request.scope);
    const writes = checkTransition(request);
    const k = this.keys;
    const s = request.scope;
    const args: (string | number)[] = [
      k.docs(s),
      k.versions(s),
      k.epoch(s),
      k.kinds(s),
      k.scopeAudit(s),
      request.epoch,
      writes.length,
    ];
    for (const w of writes)
      args.push(w.name, w.json === null ? '0' : '1', w.json ?? '', w.expectedVersion ?? '', kindOf(w.name));
    const audit = request.audit === undefined ? undefined : JSON.stringify({ ...request.audit, scope: s });
    args.push(audit === undefined ? '0' : '1', this.auditNow(), this.auditRetentionMs, audit ?? '');
    // The kind index lives in other slots, so it cannot be in the script. It is added *before* (same round
    // trip, pipelined): a crash in between leaves an extra index entry, which listScopes re-checks and drops,
    // never a missing one.
    const pipeline = this.redis.pipeline();
    for (const kind of new Set(writes.filter((w) => w.json !== null).map((w) => kindOf(w.name))))
      pipeline.sadd(k.kindIndex(kind), s);
    (pipeline as unknown as PipelinedScripts).mwTransition(...args);
    const replies = (await pipeline.exec()) ?? [];
    const [error, reply] = replies[replies.length - 1] ?? [null, undefined];
    if (error) throw error;
    if (!Array.isArray(reply)) throw unexpected('transition', reply);
    const [status, ...rest] = reply as string[];
    if (status === 'stale-epoch') return { ok: false, reason: 'stale-epoch', currentEpoch: Number(rest[0]) };
    if (status === 'version-conflict')
      return { ok: false, reason: 'version-conflict', name: rest[0] ?? '', actualVersion: Number(rest[1]) };
    if (status !== 'ok') throw unexpected('transition', reply);
    const versions: Record<string, number> = {};
    for (let i = 0; i + 1 < rest.length; i += 2) versions[rest[i] as string] = Number(rest[i + 1]);
    // The fleet-wide audit stream is another slot too; the scope's own stream already has the entry.
    if (audit !== undefined) {
      const [fleetError] = (await this.appendAuditTo([k.fleetAudit()], this.auditNow(), audit))[0] ?? [null];
      if (fleetError) throw fleetError;
    }
    return { ok: true, versions };
  }

  async listScopes(kind: string): Promise<readonly string[]> {
    const candidates = await this.redis.smembers(this.keys.kindIndex(kind));
    if (candidates.length === 0) return [];
    const check = this.redis.pipeline();
    for (const scope of candidates) check.hget(this.keys.kinds(scope), kind);
    const counts = (await check.exec()) ?? [];
    const live: string[] = [];
    const gone: string[] = [];
    candidates.forEach((scope, i) => (Number(counts[i]?.[1] ?? 0) > 0 ? live : gone).push(scope));
    // Lazily forget scopes whose last document of this kind was deleted; a concurrent re-add re-indexes itself.
    if (gone.length > 0) await this.redis.srem(this.keys.kindIndex(kind), ...gone);
    return live.sort();
  }

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<Lease | undefined> {
    checkTtl(ttlMs);
    const epoch = await this.scripts.mwAcquireLease(
      this.keys.leaseHolder(name),
      this.keys.leaseEpoch(name),
      holder,
      ttlMs,
    );
    return epoch === null ? undefined : { name, holder, epoch: Number(epoch) };
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    return (
      (await this.scripts.mwRenewLease(
        this.keys.leaseHolder(lease.name),
        leaseValue(lease.holder, lease.epoch),
        ttlMs,
      )) === 1
    );
  }

  async releaseLease(lease: Lease): Promise<void> {
    await this.scripts.mwReleaseLease(this.keys.leaseHolder(lease.name), leaseValue(lease.holder, lease.epoch));
  }

  async leaseHolder(name: string): Promise<Lease | undefined> {
    const value = await this.redis.get(this.keys.leaseHolder(name));
    const parsed = value === null ? undefined : parseLeaseValue(value);
    return parsed === undefined ? undefined : { name, ...parsed };
  }

  private async appendAuditTo(
    keys: readonly string[],
    nowMs: number,
    json: string,
  ): Promise<[Error | null, unknown][]> {
    const pipeline = this.redis.pipeline();
    for (const key of keys)
      (pipeline as unknown as PipelinedScripts).mwAppendAudit(key, nowMs, this.auditRetentionMs, json);
    return (await pipeline.exec()) ?? [];
  }

  async appendAudit(entry: AuditEntry): Promise<string> {
    checkScope(entry.scope);
    const replies = await this.appendAuditTo(
      [this.keys.scopeAudit(entry.scope), this.keys.fleetAudit()],
      this.auditNow(),
      JSON.stringify(entry),
    );
    const error = replies.find(([e]) => e !== null)?.[0];
    if (error) throw error;
    const id = replies[0]?.[1];
    if (typeof id !== 'string') throw unexpected('appendAudit', replies);
    return id;
  }

  async readAudit(options: AuditQuery = {}): Promise<readonly AuditRecord[]> {
    if (options.scope !== undefined) checkScope(options.scope);
    const limit = checkAuditLimit(options.limit);
    if (options.before !== undefined) parseStreamId(options.before);
    const key = options.scope === undefined ? this.keys.fleetAudit() : this.keys.scopeAudit(options.scope);
    // Entries older than the retention may wait for the next append to be trimmed: reads never show them.
    const oldest = Math.max(0, this.now() - this.auditRetentionMs);
    const newest = options.before === undefined ? '+' : `(${options.before}`;
    const newestFirst = await this.redis.xrevrange(key, newest, String(oldest), 'COUNT', limit);
    return newestFirst.reverse().map(([id, fields]) => {
      const at = fields.indexOf('entry');
      return { ...(JSON.parse(fields[at + 1] ?? 'null') as AuditEntry), id };
    });
  }

  async setTimer(set: string, member: string, atMs: number): Promise<void> {
    await this.redis.zadd(this.keys.timers(set), atMs, member);
  }

  async dueTimers(set: string, nowMs: number): Promise<readonly string[]> {
    return this.redis.zrangebyscore(this.keys.timers(set), '-inf', nowMs);
  }

  async clearTimer(set: string, member: string): Promise<void> {
    await this.redis.zrem(this.keys.timers(set), member);
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.redis.quit();
  }
}

/** A StateStore on Redis (ioredis). Layout, scripts and fencing: docs/adr/0005-state-store-on-redis.md. */
export function createRedisStore(options: RedisStoreOptions): StateStore {
  if (options.redis !== undefined) return new RedisStateStore(options.redis, false, options);
  if (options.url === undefined)
    throw new StoreError(StoreErrorCode.InvalidRequest, 'createRedisStore needs a url or a client');
  return new RedisStateStore(
    new Redis(options.url, { maxRetriesPerRequest: 3, ...options.redisOptions }),
    true,
    options,
  );
}
