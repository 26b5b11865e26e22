import { UnitWaitReason } from '@meshwave/contracts';
import { createManualClock } from '@meshwave/reconcile';
import { silentLogger } from '@meshwave/telemetry';
import { describe, expect, it } from 'vitest';
import type { IstioInstallation, RevisionTagWrite } from '../ports/kubernetes-port.js';
import { createRevisionTagPointer } from './revision-tag-pointer.js';

const installation = (tagPointsAt: string): IstioInstallation => ({
  controlPlanes: [
    { revision: '1-22-1', version: '1.22.1', ready: true },
    { revision: '1-24-5', version: '1.24.5', ready: true },
    { revision: '1-25-2', version: '1.25.2', ready: true },
  ],
  tags: { 'prod-stable': tagPointsAt },
  injectors: ['1-22-1', '1-24-5', '1-25-2'],
});

function newPointer(now: IstioInstallation) {
  const writes: string[] = [];
  const pointer = createRevisionTagPointer({
    port: {
      pointRevisionTag: async (tag, revision): Promise<RevisionTagWrite> => {
        writes.push(`${tag}→${revision}`);
        return { outcome: 'updated' };
      },
    },
    read: async () => now,
    clock: createManualClock(),
    okForMs: 60_000,
    log: silentLogger(),
  });
  return { pointer, writes };
}

describe('the revision tag pointer', () => {
  it('refuses with UNSUPPORTED_UPGRADE_PATH, writing nothing, a tag moved by hand beyond what Istio supports', async () => {
    const { pointer, writes } = newPointer(installation('1-22-1'));
    expect(await pointer.point('prod-stable', '1-25-2', false)).toEqual({
      reason: UnitWaitReason.UnsupportedUpgradePath,
      message: expect.stringContaining('moving tag prod-stable from 1-22-1 to 1-25-2: 1.22.1 → 1.25.2'),
    });
    expect(writes).toEqual([]);
  });

  it('points the tag when the path is supported, or allowed by the rollout', async () => {
    const planned = newPointer(installation('1-24-5'));
    expect(await planned.pointer.point('prod-stable', '1-25-2', false)).toBeUndefined();
    expect(planned.writes).toEqual(['prod-stable→1-25-2']);
    const allowed = newPointer(installation('1-22-1'));
    expect(await allowed.pointer.point('prod-stable', '1-25-2', true)).toBeUndefined();
    expect(allowed.writes).toEqual(['prod-stable→1-25-2']);
  });
});
