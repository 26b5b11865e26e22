import { describe, expect, it } from 'vitest';
import type { WireRecord } from './envelope.js';
import { PartitionLog } from './partition-log.js';

const newRecord = (i: number): WireRecord => ({ key: 'a', value: Buffer.from(String(i)), headers: {} });

describe('PartitionLog', () => {
  it('Given a log retaining 3 records, When 10 are appended, Then only the newest 3 stay and offsets keep counting', () => {
    const log = new PartitionLog(3);
    const offsets = Array.from({ length: 10 }, (_, i) => log.append(newRecord(i)));
    expect(offsets).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([log.start, log.end]).toEqual([7, 10]);
    expect(log.at(6)).toBeUndefined();
    expect([7, 8, 9].map((o) => log.at(o))).toEqual([newRecord(7), newRecord(8), newRecord(9)]);
    expect(log.at(10)).toBeUndefined();
  });

  it('keeps serving the right records across many compactions', () => {
    const log = new PartitionLog(5);
    for (let i = 0; i < 1_000; i++) log.append(newRecord(i));
    expect([log.start, log.end]).toEqual([995, 1_000]);
    expect(log.at(995)).toEqual(newRecord(995));
    expect(log.at(999)).toEqual(newRecord(999));
  });

  it('refuses a retention that is not a whole number of at least one record', () => {
    expect(() => new PartitionLog(0)).toThrow(RangeError);
    expect(() => new PartitionLog(1.5)).toThrow(RangeError);
  });
});
