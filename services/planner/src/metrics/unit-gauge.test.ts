import { Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { UnitGauge } from './unit-gauge.js';

// The `meshwave_units` gauge per cluster: ambient workloads under `ambient` (ADR 0051), kept per change (issue 15).

function newGauge() {
  const gauge = new Gauge({
    name: 'units',
    help: 'test',
    labelNames: ['cluster', 'revision'] as const,
    registers: [new Registry()],
  });
  const values = async () =>
    Object.fromEntries((await gauge.get()).values.map((v) => [`${v.labels.cluster}/${v.labels.revision}`, v.value]));
  return { units: new UnitGauge(gauge), values };
}

const AMBIENT = [{ name: 'orders', labels: { 'istio.io/dataplane-mode': 'ambient' } }];
const workload = (namespace: string, name: string, injectedRevision: string | null, revision = injectedRevision) => ({
  namespace,
  name,
  revision,
  injectedRevision,
});

describe('the meshwave_units gauge', () => {
  it('Given a cluster with an ambient namespace, Then its sidecarless workloads count as ambient and a sidecar workload there on its revision', async () => {
    const { units, values } = newGauge();
    units.countCluster('c1', {
      namespaces: AMBIENT,
      workloads: [
        workload('orders', 'api', null),
        workload('orders', 'legacy', '1-24-5'),
        workload('shop', 'batch', null),
      ],
    });
    expect(await values()).toEqual({ 'c1/ambient': 1, 'c1/1-24-5': 1, 'c1/none': 1 });
  });

  it('Given a counted cluster, When a delta carries no namespaces or the same ambient ones, Then it is adjusted; a new ambient namespace, or an unknown cluster, is counted again', async () => {
    const { units, values } = newGauge();
    expect(units.adjustable('c1', undefined)).toBe(false);
    units.countCluster('c1', { namespaces: AMBIENT, workloads: [workload('orders', 'api', null)] });
    expect(units.adjustable('c1', undefined)).toBe(true);
    expect(units.adjustable('c1', [...AMBIENT, { name: 'shop', labels: {} }])).toBe(true);
    expect(units.adjustable('c1', [{ name: 'orders', labels: {} }])).toBe(false);

    units.adjust('c1', [{ after: workload('orders', 'ledger', null) }, { before: workload('orders', 'api', null) }]);
    expect(await values()).toEqual({ 'c1/ambient': 1 });
    units.adjust('c1', [{ before: workload('orders', 'ledger', null), after: workload('orders', 'ledger', '1-25-2') }]);
    expect(await values()).toEqual({ 'c1/1-25-2': 1 });
    units.countFleet([]);
    expect(await values()).toEqual({});
    expect(units.adjustable('c1', undefined)).toBe(false);
  });
});
