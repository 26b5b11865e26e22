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

  it('Given a log retaining 1 kB, When ten 300-byte records are appended, Then only the newest that fit in 1 kB stay', () => {
    const log = new PartitionLog(10_000, 1_000);
    const big = (i: number): WireRecord => ({ key: 'a', value: Buffer.alloc(299, i), headers: {} });
    for (let i = 0; i < 10; i++) log.append(big(i));
    // each record weighs 300 bytes (value and key): three fit in 1,000
    expect([log.start, log.end]).toEqual([7, 10]);
    expect(log.retainedBytes).toBe(900);
    expect(log.at(7)).toEqual(big(7));
  });

  it('Given a log retaining 1 kB, When a record larger than that is appended, Then it alone stays', () => {
    const log = new PartitionLog(10_000, 1_000);
    log.append(newRecord(1));
    log.append({ key: 'a', value: Buffer.alloc(5_000), headers: {} });
    expect([log.start, log.end]).toEqual([1, 2]);
  });

  it('Given a group that has not committed, When records pass the byte retention, Then none it has not handled is trimmed', () => {
    const log = new PartitionLog(10_000, 1_000);
    for (let i = 0; i < 10; i++) log.append({ key: 'a', value: Buffer.alloc(299), headers: {} }, 2);
    expect([log.start, log.end]).toEqual([2, 10]);
  });

  it('refuses a retention that is not a whole number of at least one record', () => {
    expect(() => new PartitionLog(0)).toThrow(RangeError);
    expect(() => new PartitionLog(1.5)).toThrow(RangeError);
    expect(() => new PartitionLog(3, 0)).toThrow(RangeError);
  });
});
