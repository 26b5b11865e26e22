import type { EachBatchPayload } from 'kafkajs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CONTRACT_SIGNING } from './contract/contract-kit.js';
import type { RecordProcessor } from './delivery.js';
import { createKafkaBus } from './kafka-bus.js';

/** The bus's handling of one kafkajs batch, as its consumer calls it (`eachBatch`). */
type BatchHandler = (payload: EachBatchPayload, process: RecordProcessor, abandon: AbortSignal) => Promise<void>;

function batchHandlerOf(): BatchHandler {
  // never connects: only the batch handling is used
  const bus = createKafkaBus({ brokers: ['127.0.0.1:9'], source: 'cluster-agent/a', signing: CONTRACT_SIGNING });
  const handler = (bus as unknown as { handleBatch: BatchHandler }).handleBatch;
  return handler.bind(bus);
}

/** A broker that answers commits only when told to; the offsets committed, in the order the broker got them. */
function newSlowBroker() {
  const sent: string[] = [];
  const answered: string[] = [];
  const waiting: (() => void)[] = [];
  return {
    sent,
    answered,
    commit: (offset: string): Promise<void> => {
      sent.push(offset);
      return new Promise<void>((resolve) =>
        waiting.push(() => {
          answered.push(offset);
          resolve();
        }),
      );
    },
    answerAll: async (): Promise<void> => {
      while (waiting.length > 0) {
        waiting.shift()!();
        await settle();
      }
    },
  };
}

function newBatchPayload(offsets: readonly string[], commit: (offset: string) => Promise<void>): EachBatchPayload {
  const messages = offsets.map((offset) => ({ offset, key: Buffer.from('cluster/a'), value: Buffer.from('{}') }));
  return {
    batch: { topic: 'commands', partition: 0, messages },
    isRunning: () => true,
    isStale: () => false,
    heartbeat: () => Promise.resolve(),
    resolveOffset: () => undefined,
    commitOffsetsIfNecessary: (o: { topics: { partitions: { offset: string }[] }[] }) =>
      commit(o.topics[0]!.partitions[0]!.offset),
  } as unknown as EachBatchPayload;
}

/** lets every promise that can settle now settle */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

afterEach(() => void vi.useRealTimers());

describe('a Kafka batch on a busy process', () => {
  it('handles its next records while a commit waits for the broker, and ends once the last commit is answered', async () => {
    // Given a batch of five records, a broker that has not yet answered any commit, and a process so busy that
    // each record takes 2 s (longer than the 1 s between commits)
    vi.useFakeTimers({ toFake: ['Date'] });
    const broker = newSlowBroker();
    const handled: string[] = [];
    const process: RecordProcessor = (_record, position) => {
      handled.push(position.offset);
      vi.setSystemTime(Date.now() + 2_000);
      return Promise.resolve('done');
    };
    const handleBatch = batchHandlerOf();

    // When the bus handles the batch
    let ended = false;
    const done = handleBatch(
      newBatchPayload(['10', '11', '12', '13', '14'], broker.commit),
      process,
      new AbortController().signal,
    ).then(() => void (ended = true));
    await settle();

    // Then every record was handled without waiting for the broker's answers, and the batch is not over yet
    expect(handled).toEqual(['10', '11', '12', '13', '14']);
    expect(ended).toBe(false);
    // and when the broker answers, the commits reached it one after another, in order, the last one for all five
    await broker.answerAll();
    await done;
    expect(ended).toBe(true);
    expect(broker.answered).toEqual(broker.sent);
    expect(broker.sent.at(-1)).toBe('15');
    expect([...broker.sent].sort((a, b) => Number(a) - Number(b))).toEqual(broker.sent);
  });
});
