// StateStore contract, `readScopeChanges` and `readVersion`: part of describeStateStoreContract (run against every implementation).
import type { StateStore, TransitionResult } from '../state-store.js';
import type { StoreContractTestApi } from './state-store-contract.js';

export function describeScopeChangesContract(
  newStore: () => Promise<StateStore>,
  { it, expect }: Pick<StoreContractTestApi, 'it' | 'expect'>,
): void {
  const ok = (r: TransitionResult): void => {
    if (!r.ok) throw new Error(`transition refused: ${JSON.stringify(r)}`);
  };

  it('Given a reader holding some versions of a scope, When it reads the changes, Then only documents at another version (or new) come with their value, and gone ones are not listed', async () => {
    const store = await newStore();
    ok(
      await store.transition({
        scope: 's',
        epoch: 1,
        writes: [
          { name: 'plan', value: { units: ['a', 'b'] } },
          { name: 'report/c1', value: { generation: 1 } },
          { name: 'gone', value: 'soon' },
        ],
      }),
    );
    const first = await store.readScopeChanges('s', new Map());
    expect(Object.fromEntries(first.versions)).toEqual({ plan: 1, 'report/c1': 1, gone: 1 });
    expect(Object.fromEntries(first.changed)).toEqual({
      plan: { value: { units: ['a', 'b'] }, version: 1 },
      'report/c1': { value: { generation: 1 }, version: 1 },
      gone: { value: 'soon', version: 1 },
    });
    ok(
      await store.transition({
        scope: 's',
        epoch: 1,
        writes: [
          { name: 'report/c1', value: { generation: 2 }, expectedVersion: 1 },
          { name: 'report/c2', value: { generation: 1 } },
          { name: 'gone', value: null },
        ],
      }),
    );
    const next = await store.readScopeChanges('s', first.versions);
    expect(Object.fromEntries(next.versions)).toEqual({ plan: 1, 'report/c1': 2, 'report/c2': 1 });
    expect(Object.fromEntries(next.changed)).toEqual({
      'report/c1': { value: { generation: 2 }, version: 2 },
      'report/c2': { value: { generation: 1 }, version: 1 },
    });
    const none = await store.readScopeChanges('empty', new Map([['plan', 1]]));
    expect([none.versions.size, none.changed.size]).toEqual([0, 0]);
  });
}
