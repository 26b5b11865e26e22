import { InventoryReport } from '@meshwave/contracts';
import { describe, expect, it } from 'vitest';
import { SharedValues } from './shared-values.js';

/** a cluster's inventory as the bus hands it over: parsed from its JSON text, then validated */
function newParsedReport(cluster: string, workloads: number): InventoryReport {
  const text = JSON.stringify({
    cluster,
    generation: 1,
    workloads: Array.from({ length: workloads }, (_, i) => ({
      namespace: `team-${i % 3}`,
      kind: 'Deployment',
      name: `svc-${i}`,
      labels: { tier: i % 2 === 0 ? 'web' : 'db' },
      revision: '1-24-5',
    })),
  });
  return InventoryReport.parse(JSON.parse(text));
}

describe('shared values of parsed reports (issue 15)', () => {
  it('Given two clusters’ inventories, When shared, Then workloads with the same labels hold one frozen labels object', () => {
    const values = new SharedValues();
    const a = values.share(newParsedReport('c-0', 10));
    const b = values.share(newParsedReport('c-1', 10));
    expect(a.workloads[0]!.labels).toBe(b.workloads[0]!.labels);
    expect(a.workloads[0]!.labels).toBe(a.workloads[2]!.labels);
    expect(a.workloads[0]!.labels).not.toBe(a.workloads[1]!.labels);
    expect(Object.isFrozen(a.workloads[1]!.labels)).toBe(true);
    expect(b.workloads[1]!.labels).toEqual({ tier: 'db' });
  });

  it('Given a report shared, When a second cluster reports the same kinds, namespaces and revisions, Then the pool holds no more strings; names are not pooled', () => {
    const values = new SharedValues();
    values.share(newParsedReport('c-0', 50));
    const after = values.size;
    // cluster, kind, 3 namespaces, 1 revision, 2 label values; none of the 50 names. Label sets: the two
    // tiers and the cluster's own (empty) labels
    expect(after).toEqual({ strings: 8, labelSets: 3 });
    values.share(newParsedReport('c-1', 50));
    expect(values.size).toEqual({ strings: after.strings + 1, labelSets: 3 }); // its cluster's name
  });

  it('Given a pool at its limit, When a new value comes, Then it starts again and what it shared stays intact', () => {
    const values = new SharedValues(2);
    const a = values.share(newParsedReport('c-0', 4));
    values.share(newParsedReport('c-1', 4));
    expect(values.size.strings).toBeLessThanOrEqual(2);
    expect(a.workloads.map((w) => [w.namespace, w.kind, w.revision])).toEqual([
      ['team-0', 'Deployment', '1-24-5'],
      ['team-1', 'Deployment', '1-24-5'],
      ['team-2', 'Deployment', '1-24-5'],
      ['team-0', 'Deployment', '1-24-5'],
    ]);
  });
});
