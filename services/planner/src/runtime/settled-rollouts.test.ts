import { createInMemoryStore } from '@meshwave/store';
import { describe, expect, it } from 'vitest';
import { SettledRollouts } from './settled-rollouts.js';

/** a store with each rollout's state written once; `write` writes it again and gives its new version */
async function newStore(ids: readonly string[]): Promise<{
  store: ReturnType<typeof createInMemoryStore>;
  write: (id: string) => Promise<number>;
}> {
  const store = createInMemoryStore();
  const write = async (id: string): Promise<number> => {
    const expectedVersion = await store.readVersion(id, 'state');
    const r = await store.transition({
      scope: id,
      epoch: 1,
      writes: [{ name: 'state', value: { phase: 'Completed' }, expectedVersion }],
    });
    if (!r.ok) throw new Error(r.reason);
    return r.versions['state']!;
  };
  for (const id of ids) await write(id);
  return { store, write };
}

describe('SettledRollouts', () => {
  it('Given a rollout settled at its state version, When its state is unchanged, Then it is still settled; When an operator writes its state, Then it is not, and stays forgotten', async () => {
    const { store, write } = await newStore(['r1']);
    const settled = new SettledRollouts(store);
    settled.settle('r1', await store.readVersion('r1', 'state'));

    expect(await settled.still('r1')).toBe(true);
    expect(await settled.still('r1')).toBe(true);
    await write('r1');
    expect(await settled.still('r1')).toBe(false);
    expect(await settled.still('r1')).toBe(false);
  });

  it('Given more settled rollouts than it keeps, Then the oldest settled is forgotten first; a leader that stands down forgets all', async () => {
    const { store } = await newStore(['r1', 'r2', 'r3']);
    const settled = new SettledRollouts(store, 2);
    for (const id of ['r1', 'r2', 'r3']) settled.settle(id, await store.readVersion(id, 'state'));

    expect([await settled.still('r1'), await settled.still('r2'), await settled.still('r3')]).toEqual([
      false,
      true,
      true,
    ]);
    settled.forget();
    expect([await settled.still('r2'), await settled.still('r3')]).toEqual([false, false]);
  });

  it('Given a rollout never settled, Then it is not settled', async () => {
    const { store } = await newStore(['r1']);
    expect(await new SettledRollouts(store).still('r1')).toBe(false);
  });
});
