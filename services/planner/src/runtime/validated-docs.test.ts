import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PlannerError } from '../errors.js';
import { ValidatedDocs } from './store-layout.js';
import { StoredInventoryCluster } from './stored-documents.js';

/** a schema that counts its validations */
function counting(): { schema: z.ZodType<{ n: number }>; runs: () => number } {
  let runs = 0;
  const schema = z.object({ n: z.number() }).refine(() => {
    runs++;
    return true;
  });
  return { schema, runs: () => runs };
}

describe('ValidatedDocs', () => {
  it('Given a document read again at the same version, When it is parsed, Then it is validated once and the same value is returned', () => {
    const docs = new ValidatedDocs();
    const { schema, runs } = counting();
    const first = docs.parse(schema, 'r1', 'rollout', { value: { n: 1 }, version: 3 });
    const again = docs.parse(schema, 'r1', 'rollout', { value: { n: 1 }, version: 3 });
    expect(again).toBe(first);
    expect(runs()).toBe(1);
  });

  it('Given a document at a new version, When it is parsed, Then it is validated again and the new value returned', () => {
    const docs = new ValidatedDocs();
    const { schema, runs } = counting();
    docs.parse(schema, 'r1', 'report/cluster/a', { value: { n: 1 }, version: 1 });
    expect(docs.parse(schema, 'r1', 'report/cluster/a', { value: { n: 2 }, version: 2 })).toEqual({ n: 2 });
    expect(runs()).toBe(2);
  });

  it('Given a cached scope, When it is dropped or a document is not kept, Then the next read validates again', () => {
    const docs = new ValidatedDocs();
    const { schema, runs } = counting();
    docs.parse(schema, 'r1', 'a', { value: { n: 1 }, version: 1 });
    docs.parse(schema, 'r1', 'b', { value: { n: 1 }, version: 1 });
    docs.retain('r1', new Set(['a']));
    docs.parse(schema, 'r1', 'a', { value: { n: 1 }, version: 1 });
    docs.parse(schema, 'r1', 'b', { value: { n: 1 }, version: 1 });
    expect(runs()).toBe(3);
    docs.retain('r1');
    docs.parse(schema, 'r1', 'a', { value: { n: 1 }, version: 1 });
    expect(runs()).toBe(4);
  });

  it('Given an invalid document, When it is parsed, Then it is refused with STORED_DOCUMENT_INVALID every time', () => {
    const docs = new ValidatedDocs();
    const { schema } = counting();
    for (let i = 0; i < 2; i++) {
      const error = (() => {
        try {
          docs.parse(schema, 'r1', 'rollout', { value: { n: 'x' }, version: 1 });
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(PlannerError);
      expect((error as PlannerError).code).toBe('STORED_DOCUMENT_INVALID');
    }
  });

  it('Given two clusters’ stored inventories, When parsed, Then their workloads share one labels object per label set (issue 15)', () => {
    const docs = new ValidatedDocs();
    const stored = (cluster: string): { value: unknown; version: number } => ({
      version: 1,
      value: JSON.parse(
        JSON.stringify({
          receivedAt: '2026-12-07T00:00:00.000Z',
          report: {
            cluster,
            generation: 1,
            workloads: [{ namespace: 'shop', kind: 'Deployment', name: 'a', labels: { app: 'shop' }, revision: null }],
          },
        }),
      ),
    });
    const a = docs.parse(StoredInventoryCluster, 'fleet', 'inventory/cluster/c1', stored('c1'));
    const b = docs.parse(StoredInventoryCluster, 'fleet', 'inventory/cluster/c2', stored('c2'));
    expect(a.report.workloads[0]!.labels).toBe(b.report.workloads[0]!.labels);
  });
});
