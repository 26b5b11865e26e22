// The one behavioural contract of StateStore, run against every implementation (in memory in unit tests, Redis
// in test/integration/store). The test functions are passed in, so this module has no runtime dependency on
// vitest and can ship in the package's public API.
import type { afterEach as AfterEach, describe as Describe, expect as Expect, it as It } from 'vitest';
import { StoreError, StoreErrorCode } from '../errors.js';
import type { AuditEntry, StateStore, TransitionResult } from '../state-store.js';

export interface StateStoreContractFactoryOptions {
  readonly auditRetentionMs?: number;
  /** the store's clock for audit ids and retention */
  readonly now?: () => number;
}

/** A fresh, empty store per call (its own key prefix, or its own instance). */
export type StateStoreContractFactory = (options?: StateStoreContractFactoryOptions) => Promise<StateStore>;

export interface StoreContractTestApi {
  readonly describe: typeof Describe;
  readonly it: typeof It;
  readonly expect: typeof Expect;
  readonly afterEach: typeof AfterEach;
}

export interface StateStoreContractOptions {
  /** upper bound to wait for a lease to expire (not a performance assertion); default 10 s */
  readonly waitMs?: number;
}

export function newAuditEntry(scope: string, action: string, overrides: Partial<AuditEntry> = {}): AuditEntry {
  return { actor: 'planner-0', action, scope, reason: 'contract test', at: '2026-11-22T20:00:00.000Z', ...overrides };
}

export function describeStateStoreContract(
  name: string,
  factory: StateStoreContractFactory,
  t: StoreContractTestApi,
  options: StateStoreContractOptions = {},
): void {
  const { describe, it, expect, afterEach } = t;
  const waitMs = options.waitMs ?? 10_000;

  describe(`StateStore contract: ${name}`, () => {
    const stores: StateStore[] = [];
    afterEach(async () => {
      for (const store of stores.splice(0)) await store.close();
    });
    async function newStore(opts?: StateStoreContractFactoryOptions): Promise<StateStore> {
      const store = await factory(opts);
      stores.push(store);
      return store;
    }
    const ok = (r: TransitionResult): Readonly<Record<string, number>> => {
      if (!r.ok) throw new Error(`transition refused: ${JSON.stringify(r)}`);
      return r.versions;
    };

    it('Given an empty scope, When documents are written, Then they have versions and the whole scope reads back in one call', async () => {
      const store = await newStore();
      const rollout = {
        id: 'r-1',
        phase: 'Running',
        waves: [{ index: 0, percent: 10 }],
        note: 'ünïcode ✓',
        ratio: 0.25,
        absent: null,
      };
      const versions = ok(
        await store.transition({
          scope: 'r-1',
          epoch: 1,
          writes: [
            { name: 'rollout', value: rollout, expectedVersion: 0 },
            { name: 'wave/0', value: { phase: 'Dispatching' } },
          ],
        }),
      );
      expect(versions).toEqual({ rollout: 1, 'wave/0': 1 });
      ok(
        await store.transition({
          scope: 'r-1',
          epoch: 1,
          writes: [{ name: 'wave/0', value: { phase: 'Soaking' }, expectedVersion: 1 }],
        }),
      );
      const scope = await store.readScope('r-1');
      expect(Object.fromEntries(scope)).toEqual({
        rollout: { value: rollout, version: 1 },
        'wave/0': { value: { phase: 'Soaking' }, version: 2 },
      });
      expect(await store.read('r-1', 'wave/0')).toEqual({ value: { phase: 'Soaking' }, version: 2 });
      expect(await store.read('r-1', 'missing')).toBeUndefined();
      expect((await store.readScope('r-other')).size).toBe(0);
    });

    it('Given versions the reader holds, When it reads the scope, Then only documents at another version carry a value', async () => {
      const store = await newStore();
      const writes = [
        { name: 'plan', value: { units: ['a', 'b'] } },
        { name: 'state', value: { phase: 'Running' } },
        { name: 'report', value: { n: 1 } },
      ];
      ok(await store.transition({ scope: 'r-2', epoch: 1, writes }));
      ok(await store.transition({ scope: 'r-2', epoch: 1, writes: [{ name: 'state', value: { phase: 'Soaking' } }] }));
      const scope = await store.readScope('r-2', {
        unchangedSince: new Map([
          ['plan', 1],
          ['state', 1],
          ['gone', 3],
        ]),
      });
      expect(Object.fromEntries(scope)).toEqual({
        plan: { value: undefined, version: 1, unchanged: true },
        state: { value: { phase: 'Soaking' }, version: 2 },
        report: { value: { n: 1 }, version: 1 },
      });
    });

    it('Given a stored document, When the written or read object is changed, Then the store is not', async () => {
      const store = await newStore();
      const value = { list: [1, 2] };
      ok(await store.transition({ scope: 's', epoch: 1, writes: [{ name: 'doc', value }] }));
      value.list.push(3);
      const read = await store.read('s', 'doc');
      (read?.value as { list: number[] }).list.push(4);
      expect((await store.read('s', 'doc'))?.value).toEqual({ list: [1, 2] });
    });

    it('Given a transition with one stale expected version, When applied, Then it is refused with the conflict and nothing is written', async () => {
      const store = await newStore();
      ok(
        await store.transition({
          scope: 's',
          epoch: 1,
          writes: [
            { name: 'a', value: 'a1' },
            { name: 'b', value: 'b1' },
          ],
        }),
      );
      const refused = await store.transition({
        scope: 's',
        epoch: 1,
        writes: [
          { name: 'a', value: 'a2', expectedVersion: 1 },
          { name: 'b', value: 'b2', expectedVersion: 7 },
        ],
      });
      expect(refused).toEqual({ ok: false, reason: 'version-conflict', name: 'b', actualVersion: 1 });
      const mustNotExist = await store.transition({
        scope: 's',
        epoch: 1,
        writes: [{ name: 'a', value: 'again', expectedVersion: 0 }],
      });
      expect(mustNotExist).toEqual({ ok: false, reason: 'version-conflict', name: 'a', actualVersion: 1 });
      expect(Object.fromEntries(await store.readScope('s'))).toEqual({
        a: { value: 'a1', version: 1 },
        b: { value: 'b1', version: 1 },
      });
    });

    it('Given a document, When written as null, Then it is deleted and a later write starts again at version 1', async () => {
      const store = await newStore();
      ok(
        await store.transition({
          scope: 's',
          epoch: 1,
          writes: [{ name: 'target/ns-a', value: { revision: '1-25-2' } }],
        }),
      );
      expect(
        ok(
          await store.transition({
            scope: 's',
            epoch: 1,
            writes: [{ name: 'target/ns-a', value: null, expectedVersion: 1 }],
          }),
        ),
      ).toEqual({ 'target/ns-a': 0 });
      expect(await store.read('s', 'target/ns-a')).toBeUndefined();
      expect(
        ok(
          await store.transition({
            scope: 's',
            epoch: 1,
            writes: [{ name: 'target/ns-a', value: 1, expectedVersion: 0 }],
          }),
        ),
      ).toEqual({ 'target/ns-a': 1 });
    });

    it('Given a scope written at epoch 5, When epoch 4 writes, Then it is refused as stale-epoch (fencing)', async () => {
      const store = await newStore();
      ok(await store.transition({ scope: 'r-1', epoch: 5, writes: [{ name: 'rollout', value: 'by epoch 5' }] }));
      const stale = await store.transition({
        scope: 'r-1',
        epoch: 4,
        writes: [{ name: 'rollout', value: 'by epoch 4' }],
        audit: newAuditEntry('r-1', 'stale'),
      });
      expect(stale).toEqual({ ok: false, reason: 'stale-epoch', currentEpoch: 5 });
      expect((await store.read('r-1', 'rollout'))?.value).toBe('by epoch 5');
      expect(await store.readAudit({ scope: 'r-1' })).toEqual([]);
      ok(await store.transition({ scope: 'r-1', epoch: 5, writes: [{ name: 'rollout', value: 'by epoch 5 again' }] }));
      ok(await store.transition({ scope: 'r-1', epoch: 6, writes: [{ name: 'rollout', value: 'by epoch 6' }] }));
      expect(await store.transition({ scope: 'r-1', epoch: 5, writes: [] })).toEqual({
        ok: false,
        reason: 'stale-epoch',
        currentEpoch: 6,
      });
      // the fence is per scope: another scope has its own
      ok(await store.transition({ scope: 'r-2', epoch: 1, writes: [{ name: 'rollout', value: 'r-2' }] }));
    });

    it('Given concurrent read-modify-write writers, When they all finish, Then no update is lost and no transition is half-applied', async () => {
      const store = await newStore();
      ok(
        await store.transition({
          scope: 'c',
          epoch: 1,
          writes: [
            { name: 'counter', value: 0 },
            { name: 'mirror', value: 0 },
          ],
        }),
      );
      const writers = 8;
      const incrementsEach = 10;
      await Promise.all(
        Array.from({ length: writers }, async () => {
          for (let i = 0; i < incrementsEach;) {
            const doc = await store.read('c', 'counter');
            const next = (doc?.value as number) + 1;
            const result = await store.transition({
              scope: 'c',
              epoch: 1,
              writes: [
                { name: 'counter', value: next, expectedVersion: doc?.version ?? 0 },
                { name: 'mirror', value: next },
              ],
            });
            if (result.ok) i++;
          }
        }),
      );
      const scope = await store.readScope('c');
      expect(scope.get('counter')?.value).toBe(writers * incrementsEach);
      expect(scope.get('mirror')?.value).toBe(writers * incrementsEach);
      expect(scope.get('counter')?.version).toBe(writers * incrementsEach + 1);
    });

    it('Given concurrent multi-document transitions at two epochs, When applied, Then documents never mix and the lower epoch is fenced once the higher wrote', async () => {
      const store = await newStore();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.transition({
            scope: 'm',
            epoch: i % 2 === 0 ? 1 : 2,
            writes: [
              { name: 'wave/0', value: `writer-${i}` },
              { name: 'wave/1', value: `writer-${i}` },
              { name: 'wave/2', value: `writer-${i}` },
            ],
          }),
        ),
      );
      const scope = await store.readScope('m');
      const values = new Set(['wave/0', 'wave/1', 'wave/2'].map((n) => scope.get(n)?.value));
      expect(values.size).toBe(1);
      const winner = Number(String([...values][0]).slice('writer-'.length));
      expect(winner % 2).toBe(1); // the last applied write has the highest epoch: once epoch 2 wrote, epoch 1 is refused
      for (const r of results) if (!r.ok) expect(r).toEqual({ ok: false, reason: 'stale-epoch', currentEpoch: 2 });
      expect(scope.get('wave/0')?.version).toBe(results.filter((r) => r.ok).length);
    });

    it('Given malformed requests, When sent, Then they fail with STORE_INVALID_REQUEST', async () => {
      const store = await newStore();
      const errors = await Promise.all([
        store.transition({ scope: 'has{brace}', epoch: 1, writes: [] }).catch((e: unknown) => e),
        store.transition({ scope: 's', epoch: -1, writes: [] }).catch((e: unknown) => e),
        store.transition({ scope: 's', epoch: 1, writes: [{ name: 'x', value: undefined }] }).catch((e: unknown) => e),
        store.acquireLease('l', 'h', 0).catch((e: unknown) => e),
        store.readScope('a{b}').catch((e: unknown) => e),
        store.appendAudit(newAuditEntry('}', 'x')).catch((e: unknown) => e),
      ]);
      for (const error of errors) {
        expect(error).toBeInstanceOf(StoreError);
        expect((error as StoreError).code).toBe(StoreErrorCode.InvalidRequest);
      }
    });

    it('Given scopes with documents of several kinds, When listed by kind, Then exactly the scopes holding that kind are returned', async () => {
      const store = await newStore();
      ok(await store.transition({ scope: 'r-1', epoch: 1, writes: [{ name: 'rollout', value: 1 }] }));
      ok(
        await store.transition({
          scope: 'r-2',
          epoch: 1,
          writes: [
            { name: 'rollout', value: 2 },
            { name: 'target/ns-a', value: 'x' },
          ],
        }),
      );
      ok(await store.transition({ scope: 'fleet', epoch: 1, writes: [{ name: 'inventory/kind-1', value: {} }] }));
      expect(await store.listScopes('rollout')).toEqual(['r-1', 'r-2']);
      expect(await store.listScopes('target')).toEqual(['r-2']);
      expect(await store.listScopes('inventory')).toEqual(['fleet']);
      ok(await store.transition({ scope: 'r-1', epoch: 1, writes: [{ name: 'rollout', value: null }] }));
      expect(await store.listScopes('rollout')).toEqual(['r-2']);
      expect(await store.listScopes('nothing')).toEqual([]);
    });

    it('Given a held lease, When others try to take, renew or release it, Then only the holder can, and the next holder gets a higher epoch', async () => {
      const store = await newStore();
      const first = await store.acquireLease('planner', 'planner-a', 30_000);
      expect(first).toMatchObject({ name: 'planner', holder: 'planner-a' });
      expect(await store.acquireLease('planner', 'planner-b', 30_000)).toBeUndefined();
      expect(await store.leaseHolder('planner')).toEqual(first);
      expect(await store.renewLease(first!, 30_000)).toBe(true);
      expect(await store.renewLease({ ...first!, holder: 'planner-b' }, 30_000)).toBe(false);
      expect(await store.renewLease({ ...first!, epoch: first!.epoch + 1 }, 30_000)).toBe(false);
      await store.releaseLease({ ...first!, holder: 'planner-b' }); // not theirs: no effect
      expect(await store.leaseHolder('planner')).toEqual(first);
      await store.releaseLease(first!);
      expect(await store.leaseHolder('planner')).toBeUndefined();
      const second = await store.acquireLease('planner', 'planner-b', 30_000);
      expect(second?.epoch).toBeGreaterThan(first!.epoch);
      expect(await store.renewLease(first!, 30_000)).toBe(false);
    });

    it('Given a leader that stops renewing, When its lease expires, Then another takes over with a higher epoch and the old leader can neither renew nor write', async () => {
      const store = await newStore();
      const old = await store.acquireLease('planner', 'planner-a', 200);
      ok(await store.transition({ scope: 'r-1', epoch: old!.epoch, writes: [{ name: 'rollout', value: 'by a' }] }));
      // Given the old holder stops renewing (a long GC pause), When the ttl passes, Then another takes over
      const deadline = Date.now() + waitMs;
      let taken = await store.acquireLease('planner', 'planner-b', 30_000);
      while (taken === undefined && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 25));
        taken = await store.acquireLease('planner', 'planner-b', 30_000);
      }
      expect(taken?.epoch).toBeGreaterThan(old!.epoch);
      ok(await store.transition({ scope: 'r-1', epoch: taken!.epoch, writes: [{ name: 'rollout', value: 'by b' }] }));
      // and the old holder, waking up, can neither renew nor write
      expect(await store.renewLease(old!, 30_000)).toBe(false);
      expect(
        await store.transition({
          scope: 'r-1',
          epoch: old!.epoch,
          writes: [{ name: 'rollout', value: 'late write by a' }],
        }),
      ).toEqual({
        ok: false,
        reason: 'stale-epoch',
        currentEpoch: taken!.epoch,
      });
      expect((await store.read('r-1', 'rollout'))?.value).toBe('by b');
    });

    it('Given audit entries and an audited transition, When read, Then they come per scope and fleet-wide, oldest first', async () => {
      const store = await newStore();
      await store.appendAudit(newAuditEntry('r-1', 'created', { detail: { waves: 3 } }));
      ok(
        await store.transition({
          scope: 'r-1',
          epoch: 1,
          writes: [{ name: 'rollout', value: 'Running' }],
          audit: newAuditEntry('r-1', 'started'),
        }),
      );
      await store.appendAudit(newAuditEntry('r-2', 'created'));
      expect((await store.readAudit({ scope: 'r-1' })).map((e) => e.action)).toEqual(['created', 'started']);
      expect((await store.readAudit({ scope: 'r-1' }))[0]).toEqual({
        ...newAuditEntry('r-1', 'created', { detail: { waves: 3 } }),
        id: expect.stringMatching(/^\d+-\d+$/),
      });
      expect((await store.readAudit()).map((e) => `${e.scope}:${e.action}`)).toEqual([
        'r-1:created',
        'r-1:started',
        'r-2:created',
      ]);
      expect((await store.readAudit({ limit: 2 })).map((e) => `${e.scope}:${e.action}`)).toEqual([
        'r-1:started',
        'r-2:created',
      ]);
    });

    it('Given a retention of one hour, When entries age past it, Then they are gone, and no number of newer entries pushes one out before', async () => {
      let now = Date.parse('2026-11-22T20:00:00.000Z');
      const hour = 3_600_000;
      const store = await newStore({ auditRetentionMs: hour, now: () => now });
      await store.appendAudit(newAuditEntry('r-1', 'first'));
      await store.appendAudit(newAuditEntry('r-2', 'idle-scope'));
      now += hour / 2;
      // an operator repeating an action many times: the first entry stays (a count bound would drop it)
      for (let i = 0; i < 300; i++) await store.appendAudit(newAuditEntry('r-1', `repeat-${i}`));
      const within = await store.readAudit({ scope: 'r-1', limit: 1000 });
      expect(within).toHaveLength(301);
      expect(within[0]?.action).toBe('first');
      expect((await store.readAudit({ limit: 1000 })).map((e) => e.action)).toContain('idle-scope');
      // When the first entries are older than the retention, Then neither stream shows them
      now += hour / 2 + 1;
      expect((await store.readAudit({ scope: 'r-1', limit: 1000 })).map((e) => e.action)).not.toContain('first');
      expect(await store.readAudit({ scope: 'r-2' })).toEqual([]);
      await store.appendAudit(newAuditEntry('r-1', 'later'));
      const fleet = await store.readAudit({ limit: 1000 });
      expect(fleet).toHaveLength(301);
      expect(fleet.map((e) => e.action)).not.toContain('idle-scope');
      // and once every entry is older than the retention, nothing is left
      now += hour + 1;
      expect(await store.readAudit({ limit: 1000 })).toEqual([]);
    });

    it('Given audit entries, When read page by page with the oldest id as cursor, Then every entry comes once, newest page first', async () => {
      const store = await newStore();
      for (let i = 0; i < 5; i++) await store.appendAudit(newAuditEntry('r-1', `step-${i}`));
      await store.appendAudit(newAuditEntry('r-2', 'other'));
      const actions: string[][] = [];
      let before: string | undefined;
      // at most one page more than needed: a cursor that is ignored must fail the test, not loop
      for (let pages = 0; pages < 4; pages++) {
        const page = await store.readAudit({ scope: 'r-1', limit: 2, ...(before !== undefined ? { before } : {}) });
        if (page.length === 0) break;
        actions.push(page.map((e) => e.action));
        before = page[0]!.id;
      }
      expect(actions).toEqual([['step-3', 'step-4'], ['step-1', 'step-2'], ['step-0']]);
      const fleet = await store.readAudit({ limit: 3 });
      expect(fleet.map((e) => e.action)).toEqual(['step-3', 'step-4', 'other']);
      expect((await store.readAudit({ limit: 3, before: fleet[0]!.id })).map((e) => e.action)).toEqual([
        'step-0',
        'step-1',
        'step-2',
      ]);
      const bad = await store.readAudit({ before: 'not-an-id' }).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(StoreError);
      expect((bad as StoreError).code).toBe(StoreErrorCode.InvalidRequest);
    });

    it('Given 20 concurrent claims of one name and overlapping units (documents that must not exist), When applied, Then exactly one claims all of them and the others claim none', async () => {
      const store = await newStore();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.transition({
            scope: 'admission',
            epoch: 1,
            writes: [
              { name: 'name/upgrade', value: { rolloutId: `r-${i}` }, expectedVersion: 0 },
              { name: `unit/c1/ns-${i}`, value: { rolloutId: `r-${i}` }, expectedVersion: 0 },
              { name: 'unit/c1/shared', value: { rolloutId: `r-${i}` }, expectedVersion: 0 },
            ],
          }),
        ),
      );
      const winners = results.flatMap((r, i) => (r.ok ? [i] : []));
      expect(winners).toHaveLength(1);
      for (const r of results) if (!r.ok) expect(r).toMatchObject({ reason: 'version-conflict', actualVersion: 1 });
      const docs = await store.readScope('admission');
      const owner = `r-${winners[0]}`;
      expect([...docs.keys()].sort()).toEqual(['name/upgrade', `unit/c1/ns-${winners[0]}`, 'unit/c1/shared']);
      for (const doc of docs.values()) expect(doc.value).toEqual({ rolloutId: owner });
      // Given the claim is released (its rollout finished), When 20 claim again comparing the version they read,
      // Then again exactly one wins
      const held = docs.get('name/upgrade')!;
      const again = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.transition({
            scope: 'admission',
            epoch: 1,
            writes: [{ name: 'name/upgrade', value: { rolloutId: `s-${i}` }, expectedVersion: held.version }],
          }),
        ),
      );
      expect(again.filter((r) => r.ok)).toHaveLength(1);
    });

    it('Given timers, When asked what is due, Then due ones come earliest first until cleared, and re-setting moves one', async () => {
      const store = await newStore();
      await store.setTimer('soak', 'r-1/wave/0', 1_000);
      await store.setTimer('soak', 'r-2/wave/1', 500);
      await store.setTimer('soak', 'r-3/wave/0', 5_000);
      await store.setTimer('other', 'x', 0);
      expect(await store.dueTimers('soak', 999)).toEqual(['r-2/wave/1']);
      expect(await store.dueTimers('soak', 1_000)).toEqual(['r-2/wave/1', 'r-1/wave/0']);
      await store.clearTimer('soak', 'r-2/wave/1');
      await store.setTimer('soak', 'r-1/wave/0', 6_000); // moved later
      expect(await store.dueTimers('soak', 5_000)).toEqual(['r-3/wave/0']);
      expect(await store.dueTimers('soak', 10_000)).toEqual(['r-3/wave/0', 'r-1/wave/0']);
    });
  });
}
