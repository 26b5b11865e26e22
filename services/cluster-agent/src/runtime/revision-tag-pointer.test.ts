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

/** Gateways by `namespace/name`: their `istio.io/rev` label and pin annotation. */
type Gateways = Map<string, { revision: string | null; pinnedTag: string | null }>;

function newPointer(now: IstioInstallation, gateways: Gateways = new Map()) {
  const writes: string[] = [];
  const pointer = createRevisionTagPointer({
    port: {
      pointRevisionTag: async (tag, revision): Promise<RevisionTagWrite> => {
        writes.push(`${tag}→${revision}`);
        return { outcome: 'updated' };
      },
    },
    gateways: {
      readGateway: async (namespace: string, name: string) => gateways.get(`${namespace}/${name}`),
      setGatewayRevision: async (namespace: string, name: string, revision: string, pinnedTag?: string | null) => {
        writes.push(`Gateway ${namespace}/${name}→${revision} (pinned from ${pinnedTag})`);
        const kept = gateways.get(`${namespace}/${name}`)?.pinnedTag ?? null;
        gateways.set(`${namespace}/${name}`, { revision, pinnedTag: pinnedTag === undefined ? kept : pinnedTag });
      },
    },
    read: async () => {
      // the tag points where the last write pointed it
      const moved = writes.filter((w) => w.startsWith('prod-stable→')).at(-1);
      return moved === undefined ? now : { ...now, tags: { 'prod-stable': moved.split('→')[1]! } };
    },
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

  it('Given Gateways to pin (ADR 0056), Then before the tag moves each one still labelled with it is pinned to the revision the tag names, once', async () => {
    const gateways: Gateways = new Map([
      ['edge/web', { revision: 'prod-stable', pinnedTag: null }],
      ['edge/api', { revision: '1-24-5', pinnedTag: null }],
    ]);
    const { pointer, writes } = newPointer(installation('1-24-5'), gateways);
    const pins = [
      { namespace: 'edge', gatewayName: 'web' },
      { namespace: 'edge', gatewayName: 'api' },
      { namespace: 'edge', gatewayName: 'gone' },
    ];
    expect(await pointer.point('prod-stable', '1-25-2', false, pins)).toBeUndefined();
    expect(writes).toEqual(['Gateway edge/web→1-24-5 (pinned from prod-stable)', 'prod-stable→1-25-2']);
    expect(gateways.get('edge/web')).toEqual({ revision: '1-24-5', pinnedTag: 'prod-stable' });
    // the tag already points there: nothing is pinned again (a Gateway labelled with it since follows it)
    pointer.forget();
    gateways.set('edge/late', { revision: 'prod-stable', pinnedTag: null });
    expect(
      await pointer.point('prod-stable', '1-25-2', false, [...pins, { namespace: 'edge', gatewayName: 'late' }]),
    ).toBeUndefined();
    expect(writes.filter((w) => w.startsWith('Gateway'))).toHaveLength(1);
  });

  it('Given a Gateway pinned before the tag moved (ADR 0056), When a failback points the tag back at that revision, Then the Gateway is labelled with the tag again and its pin removed, after the tag moved (ADR 0058)', async () => {
    const gateways: Gateways = new Map([['edge/web', { revision: 'prod-stable', pinnedTag: null }]]);
    const { pointer, writes } = newPointer(installation('1-24-5'), gateways);
    const pins = [{ namespace: 'edge', gatewayName: 'web' }];
    expect(await pointer.point('prod-stable', '1-25-2', false, pins)).toBeUndefined();
    // forward: pinned to the old revision, not unpinned while the tag names the new one
    expect(gateways.get('edge/web')).toEqual({ revision: '1-24-5', pinnedTag: 'prod-stable' });
    expect(await pointer.point('prod-stable', '1-24-5', false, pins)).toBeUndefined();
    expect(writes.slice(2)).toEqual(['prod-stable→1-24-5', 'Gateway edge/web→prod-stable (pinned from null)']);
    expect(gateways.get('edge/web')).toEqual({ revision: 'prod-stable', pinnedTag: null });
  });

  it('Given an agent killed after the failback moved the tag but before it relabelled the Gateway, When it points the tag again, Then the Gateway is relabelled then (and a Gateway pinned to another revision is not)', async () => {
    const gateways: Gateways = new Map([
      ['edge/web', { revision: '1-24-5', pinnedTag: 'prod-stable' }],
      ['edge/api', { revision: '1-22-1', pinnedTag: 'prod-stable' }],
      ['edge/own', { revision: '1-24-5', pinnedTag: null }],
    ]);
    // the tag already names 1-24-5: the restarted agent's point writes no tag, and still relabels
    const { pointer, writes } = newPointer(installation('1-24-5'), gateways);
    const pins = ['web', 'api', 'own'].map((gatewayName) => ({ namespace: 'edge', gatewayName }));
    expect(await pointer.point('prod-stable', '1-24-5', false, pins)).toBeUndefined();
    expect(writes.filter((w) => w.startsWith('Gateway'))).toEqual(['Gateway edge/web→prod-stable (pinned from null)']);
    expect(gateways.get('edge/api')).toEqual({ revision: '1-22-1', pinnedTag: 'prod-stable' });
    expect(gateways.get('edge/own')).toEqual({ revision: '1-24-5', pinnedTag: null });
  });
});
