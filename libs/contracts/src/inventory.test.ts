import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  InvalidInputError,
  Inventory,
  InventoryReport,
  MAX_REVISION_TAGS,
  MESH_LABEL,
  MessageSchemas,
  MessageType,
  meshOfNamespaceLabels,
  parseInventory,
  resolveRevision,
} from './index.js';

function newReport(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cluster: 'prod-1',
    labels: { env: 'prod' },
    generation: 7,
    workloads: [{ namespace: 'shop', kind: 'Deployment', name: 'web', revision: '1-24-5' }],
    ...extra,
  };
}

describe('inventory namespaces', () => {
  it('reads the namespaces of the example inventory with their mesh labels', () => {
    const inv = parseInventory(
      readFileSync(new URL('../../../examples/inventory.json', import.meta.url), 'utf8'),
      'inventory.json',
    );
    const prod = inv.clusters.find((c) => c.name === 'prod-us-east-1')!;
    expect(prod.namespaces?.map((n) => [n.name, meshOfNamespaceLabels(n.labels)])).toEqual([
      ['payments', 'mesh-a'],
      ['catalog', 'mesh-b'],
    ]);
    // A cluster that lists no namespaces stays without them: older inventories keep their meaning.
    expect(inv.clusters.find((c) => c.name === 'staging-eu-1')!.namespaces).toBeUndefined();
  });

  it('defaults a namespace without labels to none', () => {
    const inv = Inventory.parse({ clusters: [{ name: 'c1', namespaces: [{ name: 'shop' }] }] });
    expect(inv.clusters[0]!.namespaces).toEqual([{ name: 'shop', labels: {} }]);
  });

  it('refuses a namespace listed twice in one cluster, at its path', () => {
    const text = JSON.stringify({
      clusters: [{ name: 'c1', namespaces: [{ name: 'shop' }, { name: 'shop', labels: { [MESH_LABEL]: 'mesh-a' } }] }],
    });
    try {
      parseInventory(text, 'inventory.json');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidInputError);
      const p = (err as InvalidInputError).problems[0]!;
      expect(p.path).toBe('clusters[0].namespaces[1].name');
      expect(p.message).toContain('duplicate namespace "shop"');
    }
  });

  it('refuses a namespace name that is not a Kubernetes name', () => {
    expect(Inventory.safeParse({ clusters: [{ name: 'c1', namespaces: [{ name: 'Shop_1' }] }] }).success).toBe(false);
  });
});

describe('inventory report message', () => {
  it('carries the namespaces and their labels when the agent sends them', () => {
    const report = MessageSchemas[MessageType.Inventory].parse(
      newReport({ namespaces: [{ name: 'shop', labels: { [MESH_LABEL]: 'mesh-b', team: 'shop' } }] }),
    );
    expect(report.namespaces).toEqual([{ name: 'shop', labels: { 'meshwave.io/mesh': 'mesh-b', team: 'shop' } }]);
  });

  it('still accepts a report from an agent that sends no namespaces', () => {
    const report = InventoryReport.parse(newReport());
    expect(report.namespaces).toBeUndefined();
    expect(report.workloads).toHaveLength(1);
  });

  it('refuses a namespace entry with an unknown field', () => {
    expect(InventoryReport.safeParse(newReport({ namespaces: [{ name: 'shop', mesh: 'mesh-a' }] })).success).toBe(
      false,
    );
  });
});

describe('meshOfNamespaceLabels', () => {
  it('answers the meshwave.io/mesh label, and nothing for a missing or empty one', () => {
    expect(MESH_LABEL).toBe('meshwave.io/mesh');
    expect(meshOfNamespaceLabels({ [MESH_LABEL]: 'mesh-c', 'istio.io/rev': '1-25-2' })).toBe('mesh-c');
    expect(meshOfNamespaceLabels({ 'istio.io/rev': '1-25-2' })).toBeUndefined();
    expect(meshOfNamespaceLabels({ [MESH_LABEL]: '' })).toBeUndefined();
    expect(meshOfNamespaceLabels(undefined)).toBeUndefined();
  });
});

describe('inventory control planes and revision tags', () => {
  it('loads an older inventory without them, as before', () => {
    const inv = Inventory.parse({ clusters: [{ name: 'c1', workloads: [] }] });
    expect(inv.clusters[0]!.controlPlanes).toBeUndefined();
    expect(inv.clusters[0]!.tags).toBeUndefined();
    expect(InventoryReport.parse(newReport()).controlPlanes).toBeUndefined();
  });

  it('reads control planes and tags of the example inventory, in a report too', () => {
    const inv = parseInventory(
      readFileSync(new URL('../../../examples/inventory.json', import.meta.url), 'utf8'),
      'inventory.json',
    );
    const prod = inv.clusters.find((c) => c.name === 'prod-us-east-1')!;
    expect(prod.controlPlanes).toContainEqual({ revision: '1-25-2', version: '1.25.2', ready: true });
    expect(prod.tags).toEqual({ 'prod-stable': '1-24-5' });
    const report = newReport({
      controlPlanes: [{ revision: 'canary', version: null, ready: false }],
      tags: { 'prod-stable': 'canary' },
    });
    expect(MessageSchemas[MessageType.Inventory].parse(report)).toMatchObject(report);
  });

  it('refuses a duplicate control plane, a bad tag name and too many tags, naming the field', () => {
    const twice = Inventory.safeParse({
      clusters: [
        {
          name: 'c1',
          controlPlanes: [
            { revision: '1-25-2', version: '1.25.2', ready: true },
            { revision: '1-25-2', version: '1.25.2', ready: true },
          ],
        },
      ],
    });
    expect(twice.error?.issues[0]?.path).toEqual(['clusters', 0, 'controlPlanes', 1, 'revision']);
    expect(Inventory.safeParse({ clusters: [{ name: 'c1', tags: { 'Prod.Stable': '1-24-5' } }] }).success).toBe(false);
    const many = Object.fromEntries(Array.from({ length: MAX_REVISION_TAGS + 1 }, (_, i) => [`t${i}`, '1-24-5']));
    expect(Inventory.safeParse({ clusters: [{ name: 'c1', tags: many }] }).success).toBe(false);
  });

  it('resolves a tag to its revision and leaves a revision as it is', () => {
    const tags = { 'prod-stable': '1-24-5' };
    expect(resolveRevision(tags, 'prod-stable')).toBe('1-24-5');
    expect(resolveRevision(tags, '1-25-2')).toBe('1-25-2');
    expect(resolveRevision(undefined, 'prod-stable')).toBe('prod-stable');
    expect(resolveRevision(tags, null)).toBeNull();
    // a label that happens to name an Object property is a revision like any other
    expect(resolveRevision(tags, 'constructor')).toBe('constructor');
  });
});
