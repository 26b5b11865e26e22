import { RolloutPhase, WavePhase, type Inventory } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { newRolloutState, type RolloutState } from '../core/rollout-state.js';
import { membershipOf } from './membership-source.js';

const context = { heard: new Map<string, number>(), config: { heartbeatTimeoutMs: 30_000 } };
const FLEET: Inventory = { clusters: [], vmGroups: [] };

function counted(): { reads: number; fleet: () => Promise<Inventory> } {
  const out = {
    reads: 0,
    fleet: async (): Promise<Inventory> => {
      out.reads++;
      return FLEET;
    },
  };
  return out;
}

describe('membershipOf', () => {
  it('Given a wave that may start, When membership is judged, Then the fleet comes from the reader it is given (validated once per version), not from a fresh read and parse of the whole fleet scope', async () => {
    const starting: RolloutState[] = [
      newRolloutState(new Date(0)),
      { ...newRolloutState(new Date(0)), phase: RolloutPhase.Running, wavePhase: WavePhase.Dispatching },
      { ...newRolloutState(new Date(0)), phase: RolloutPhase.Running, wavePhase: WavePhase.Gating },
    ];
    const reader = counted();
    for (const state of starting) expect((await membershipOf(context, state, 5, reader.fleet)).inventory).toBe(FLEET);
    expect(reader.reads).toBe(3);
  });

  it('Given a wave converging, When membership is judged, Then the fleet is not read at all (its size is not paid per report)', async () => {
    const reader = counted();
    const converging = {
      ...newRolloutState(new Date(0)),
      phase: RolloutPhase.Running,
      wavePhase: WavePhase.Converging,
    };
    const membership = await membershipOf(context, converging, 5, reader.fleet);
    expect(membership.inventory).toBeUndefined();
    expect(membership).toMatchObject({ since: 5, timeoutMs: 30_000 });
    expect(reader.reads).toBe(0);
  });
});
