import { describe, expect, it } from 'vitest';
import { produceChunks, recordBytes } from './produce-chunks.js';

const record = (key: string, bytes: number) => ({
  topicName: 't',
  record: { key, value: Buffer.alloc(bytes), headers: { ce_id: key } },
});

describe('produceChunks', () => {
  it('cuts a publish into consecutive chunks under the budget, in order, a record larger than the budget alone', () => {
    const records = [record('a', 400), record('b', 400), record('c', 400), record('d', 2000), record('e', 10)];
    const budget = recordBytes(records[0]!.record) * 2;

    const chunks = [...produceChunks(records, budget)];

    expect(chunks.map((c) => c.map((r) => r.record.key))).toEqual([['a', 'b'], ['c'], ['d'], ['e']]);
    for (const c of chunks.filter((c) => c.length > 1))
      expect(c.reduce((n, r) => n + recordBytes(r.record), 0)).toBeLessThanOrEqual(budget);
  });

  it('keeps a publish under the budget in one chunk, and sends nothing for none', () => {
    expect([...produceChunks([record('a', 10), record('b', 10)], 1_000_000)]).toHaveLength(1);
    expect([...produceChunks([], 1000)]).toEqual([]);
  });
});
