import { describe, expect, it, vi } from 'vitest';
import type { z } from 'zod';
import { MessageSchemas } from '@meshwave/contracts';
import { BusErrorCode } from './errors.js';
import { publishInSpan, resolveBusOptions, type EncodedMessage } from './bus-options.js';
import { CONTRACT_SIGNING, newHeartbeat } from './contract/event-bus-contract.js';
import { produceChunks, recordBytes } from './produce-chunks.js';

// A publish of many big messages (fleet (b)'s desired states: 45 of ~160 KB) held every encoded record, and what
// the Kafka client copied of each, at once: the planner's Buffers peaked at 45-55 MB on every resend (issue 15,
// ADR 0075). Records are now encoded as the sender reads them, chunk by chunk; every message is still checked
// before any is sent.

function options(): ReturnType<typeof resolveBusOptions> {
  return resolveBusOptions({ source: 'planner', signing: CONTRACT_SIGNING });
}

describe('publishInSpan', () => {
  it('Given three messages, When the sender reads the first encoded record, Then only that one has been encoded and signed', async () => {
    const resolved = options();
    const sign = vi.spyOn(resolved.signer, 'sign');
    const signedWhenRead: number[] = [];
    await publishInSpan(
      [newHeartbeat('a', '1'), newHeartbeat('b', '1'), newHeartbeat('c', '1')],
      resolved,
      (encoded) => {
        for (const e of encoded) {
          expect(e.record.key).toBeDefined();
          signedWhenRead.push(sign.mock.calls.length);
        }
        return Promise.resolve();
      },
    );
    // the old code encoded and signed all three before the sender got any
    expect(signedWhenRead).toEqual([1, 2, 3]);
  });

  it('Given one message, When publishing, Then its data is parsed once and the record carries what was parsed', async () => {
    const message = newHeartbeat('a', '1');
    const schema = (MessageSchemas as Record<string, z.ZodType>)[message.type]!;
    const parses = vi.spyOn(schema, 'safeParse');
    try {
      const records: EncodedMessage[] = [];
      await publishInSpan([message], options(), (encoded) => Promise.resolve(void records.push(...encoded)));
      // the old code parsed it for the check, then again to encode it
      expect(parses).toHaveBeenCalledTimes(1);
      expect(JSON.parse(records[0]!.record.value!.toString())).toEqual(parses.mock.results[0]!.value.data);
      // several messages are still parsed twice each: no parsed copy of every message is held at once
      parses.mockClear();
      await publishInSpan([message, newHeartbeat('b', '1')], options(), (encoded) =>
        Promise.resolve(void [...encoded]),
      );
      expect(parses).toHaveBeenCalledTimes(4);
    } finally {
      parses.mockRestore();
    }
  });

  it('Given an invalid third message, When publishing, Then it fails with InvalidMessage before the sender gets anything', async () => {
    const send = vi.fn((encoded: Iterable<EncodedMessage>) => Promise.resolve(void [...encoded]));
    const invalid = { ...newHeartbeat('c', '1'), data: { nonsense: true } } as unknown as ReturnType<
      typeof newHeartbeat
    >;
    await expect(
      publishInSpan([newHeartbeat('a', '1'), newHeartbeat('b', '1'), invalid], options(), send),
    ).rejects.toMatchObject({
      code: BusErrorCode.InvalidMessage,
    });
    expect(send).not.toHaveBeenCalled();
  });
});

describe('produceChunks of records encoded as they are read', () => {
  it('Given six records of which two fit a chunk, When the first chunk is taken, Then at most one record beyond it has been read', () => {
    let read = 0;
    function* records(): Generator<EncodedMessage> {
      for (let i = 0; i < 6; i++) {
        read++;
        yield { topicName: 't', record: { key: `k${i}`, value: Buffer.alloc(400), headers: {} } };
      }
    }
    const size = recordBytes({ key: 'k0', value: Buffer.alloc(400), headers: {} });
    const chunks = produceChunks(records(), size * 2);

    const first = chunks[Symbol.iterator]().next();

    expect(first.value?.map((r: EncodedMessage) => r.record.key)).toEqual(['k0', 'k1']);
    // the old code read (encoded) all six before it gave the first chunk
    expect(read).toBe(3);
  });
});
