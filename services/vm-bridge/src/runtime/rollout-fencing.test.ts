import type { HaltCommand, VmGroupDesiredState } from '@meshwave/contracts';
import { createInMemoryStore } from '@meshwave/store';
import { afterEach, describe, expect, it } from 'vitest';
import { staticBundleCatalog } from '../adapters/bundle-catalog.js';
import { VmBridge } from './vm-bridge.js';

function command(rolloutId: string, generation: number, epoch = 1): VmGroupDesiredState {
  return {
    rolloutId,
    wave: 0,
    generation,
    epoch,
    group: 'web',
    from: 'v1',
    to: 'v2',
    maxUnavailable: 1,
    halted: false,
    hosts: [],
  };
}

function halt(rolloutId: string, generation: number, epoch = 1): HaltCommand {
  return { rolloutId, wave: 0, generation, epoch, target: 'vmgroup/web', reason: 'crash loop' };
}

let bridge: VmBridge | undefined;
afterEach(async () => {
  await bridge?.stop();
  bridge = undefined;
});

async function newBridge(): Promise<VmBridge> {
  bridge = new VmBridge({
    store: createInMemoryStore(),
    catalog: staticBundleCatalog({}),
    groups: [{ name: 'web' }],
    settings: { tickMs: 20 },
  });
  await bridge.start();
  return bridge;
}

describe('vm-bridge: generations order one rollout’s commands', () => {
  it('Given a group that took rollout r1 up to generation 5 and was halted, When rollout r2 sends its generation 1 and then halts, Then the bridge applies both', async () => {
    const b = await newBridge();
    expect(await b.applyCommand(command('r1', 5))).toEqual({ result: 'applied' });
    expect(await b.applyHalt(halt('r1', 6))).toEqual({ result: 'applied' });

    expect(await b.applyCommand(command('r2', 1))).toEqual({ result: 'applied' });
    expect((await b.snapshot('web')).group).toMatchObject({ halted: false, command: { rolloutId: 'r2' } });
    expect(await b.applyHalt(halt('r2', 2))).toEqual({ result: 'applied' });
    expect((await b.snapshot('web')).group.halted).toBe(true);
  });

  it('Given a group on rollout r2, When r2 sends an older generation or a deposed leader sends another rollout, Then both are refused', async () => {
    const b = await newBridge();
    expect(await b.applyCommand(command('r2', 3, 2))).toEqual({ result: 'applied' });
    expect(await b.applyCommand(command('r2', 2, 2))).toMatchObject({ result: 'rejected', reason: 'stale-generation' });
    expect(await b.applyCommand(command('r1', 9, 1))).toMatchObject({ result: 'rejected', reason: 'stale-epoch' });
  });
});
