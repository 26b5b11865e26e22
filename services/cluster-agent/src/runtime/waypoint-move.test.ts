import { describe, expect, it } from 'vitest';
import type { AmbientPort, WaypointView } from '../ports/ambient-port.js';
import { waypointPass } from './waypoint-move.js';

describe('a waypoint step (ADR 0051)', () => {
  it('Given waypoints on the old revision, Then each is relabelled once, and a missing one fails', async () => {
    const waypoints: WaypointView[] = [
      { namespace: 'mall', name: 'waypoint', labels: { 'istio.io/waypoint-for': 'service', 'istio.io/rev': '1-24-5' } },
      { namespace: 'shop', name: 'waypoint', labels: { 'istio.io/waypoint-for': 'service', 'istio.io/rev': '1-25-2' } },
    ];
    const writes: string[] = [];
    const port = {
      listWaypoints: async () => waypoints,
      labelWaypoint: async (namespace: string, name: string, revision: string) => {
        writes.push(`${namespace}/${name}=${revision}`);
        const w = waypoints.find((x) => x.namespace === namespace && x.name === name)!;
        waypoints[waypoints.indexOf(w)] = { ...w, labels: { ...w.labels, 'istio.io/rev': revision } };
      },
    } as unknown as AmbientPort;
    const wanted = [
      { namespace: 'mall', name: 'waypoint' },
      { namespace: 'shop', name: 'waypoint' },
      { namespace: 'gone', name: 'waypoint' },
    ];
    expect((await waypointPass(port, wanted, '1-25-2')).map((p) => p.state)).toEqual([
      'converged',
      'converged',
      'failed',
    ]);
    await waypointPass(port, wanted, '1-25-2');
    expect(writes).toEqual(['mall/waypoint=1-25-2']);
  });
});
