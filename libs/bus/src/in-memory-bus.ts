import { resolveBusOptions, publishInSpan, type BusOptions, type ResolvedBusOptions } from './bus-options.js';
import {
  closedError,
  deadLetterSubscription,
  messageSubscription,
  sleep,
  type DeliveryOutcome,
  type RecordProcessor,
  type SubscriptionPlan,
} from './delivery.js';
import type { RecordPosition, WireRecord } from './envelope.js';
import { DEFAULT_RETAIN_BYTES, DEFAULT_RETAIN_RECORDS, PartitionLog } from './partition-log.js';
import type {
  DeadLetterSubscribeOptions,
  EventBus,
  OutgoingMessage,
  SubscribeOptions,
  Subscription,
} from './event-bus.js';

/**
 * A broker in memory: partitioned topics and consumer groups with committed offsets, shared by every bus
 * client created on it (planner and agents of the embedded default, or one unit test). It keeps Kafka's
 * semantics that the services rely on: per-key order (key → partition), at-least-once (commit after the
 * handler), partitions shared within a group and redelivered from the committed offset after a member leaves.
 * Each partition keeps its newest `retainRecords` records, at most `retainBytes` (see PartitionLog); a group whose
 * committed offset was trimmed resumes at the oldest record retained (Kafka's `auto.offset.reset=earliest`) and
 * the skip is logged.
 */
export class InMemoryBroker {
  private readonly topics = new Map<string, TopicLog>();
  private readonly groups = new Map<string, ConsumerGroup>();

  constructor(
    readonly defaultPartitions: number,
    readonly retainRecords: number = DEFAULT_RETAIN_RECORDS,
    readonly retainBytes: number = DEFAULT_RETAIN_BYTES,
  ) {}

  topic(name: string): TopicLog {
    let log = this.topics.get(name);
    if (log === undefined) {
      log = new TopicLog(name, this.defaultPartitions, this.retainRecords, this.retainBytes);
      this.topics.set(name, log);
    }
    return log;
  }

  /** Appends a record as a producer would (tests use it to put raw, unsigned or tampered records on a topic). */
  append(topicName: string, record: WireRecord): RecordPosition {
    return this.topic(topicName).append(record);
  }

  group(topicName: string, groupId: string, fromBeginning: boolean): ConsumerGroup {
    const id = `${topicName}\u0000${groupId}`;
    let group = this.groups.get(id);
    if (group === undefined) {
      const log = this.topic(topicName);
      // Like Kafka's auto.offset.reset: a new group starts at the beginning or at the current end.
      group = new ConsumerGroup(
        log,
        log.partitions.map((p) => (fromBeginning ? p.start : p.end)),
      );
      this.groups.set(id, group);
      log.groups.push(group);
    }
    return group;
  }
}

export class TopicLog {
  readonly partitions: PartitionLog[];
  private appended = deferred();
  /** the groups reading this topic: retention never trims a record one of them has not committed */
  readonly groups: ConsumerGroup[] = [];

  constructor(
    readonly name: string,
    partitions: number,
    retainRecords: number = DEFAULT_RETAIN_RECORDS,
    retainBytes: number = DEFAULT_RETAIN_BYTES,
  ) {
    this.partitions = Array.from(
      { length: Math.max(1, partitions) },
      () => new PartitionLog(retainRecords, retainBytes),
    );
  }

  append(record: WireRecord): RecordPosition {
    const partition = partitionOf(record.key, this.partitions.length);
    let keepFrom = Number.POSITIVE_INFINITY;
    for (const g of this.groups) keepFrom = Math.min(keepFrom, g.committed[partition] ?? 0);
    const offset = (this.partitions[partition] as PartitionLog).append(record, keepFrom);
    const wake = this.appended;
    this.appended = deferred();
    wake.resolve();
    return { topic: this.name, partition, offset: String(offset) };
  }

  /** resolves at the next append */
  nextAppend(): Promise<void> {
    return this.appended.promise;
  }
}

/** How long a consumer works through records before it lets the event loop turn (timers, sockets, other work). */
const DELIVERY_SLICE_MS = 10;

/** Resolves after the event loop's next turn: timers and I/O due meanwhile run first. */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** FNV-1a: stable, so one key always lands on one partition. */
function partitionOf(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** A group's members, assignment and committed offsets. Each rebalance bumps the generation; stale commits are ignored. */
export class ConsumerGroup {
  private readonly members: GroupMember[] = [];
  private readonly owner = new Map<number, GroupMember>();
  /** released when the last holder of a partition has stopped working on it */
  private readonly held = new Map<number, Promise<void>>();
  private rebalanced = deferred();
  generation = 0;

  constructor(
    readonly log: TopicLog,
    readonly committed: number[],
  ) {}

  join(member: GroupMember): void {
    this.members.push(member);
    this.rebalance();
  }

  leave(member: GroupMember): void {
    const i = this.members.indexOf(member);
    if (i >= 0) this.members.splice(i, 1);
    this.rebalance();
  }

  owns(member: GroupMember, partition: number, generation: number): boolean {
    return this.generation === generation && this.owner.get(partition) === member;
  }

  /**
   * Only the holder of a partition (see `hold`) commits it, and the next holder starts only after the
   * release, so a handler that finishes during a rebalance still commits: fewer redeliveries than Kafka, where
   * such a commit may be refused, but never a lost message.
   */
  commit(partition: number, next: number): void {
    if (next > (this.committed[partition] ?? 0)) this.committed[partition] = next;
  }

  /** Waits until whoever worked on `partition` before has stopped, then marks it held until `release` is called. */
  async hold(partition: number): Promise<() => void> {
    for (;;) {
      const previous = this.held.get(partition);
      if (previous === undefined) break;
      await previous;
      if (this.held.get(partition) === previous) this.held.delete(partition);
    }
    const done = deferred();
    this.held.set(partition, done.promise);
    return () => {
      if (this.held.get(partition) === done.promise) this.held.delete(partition);
      done.resolve();
    };
  }

  /** resolves at the next rebalance */
  nextRebalance(): Promise<void> {
    return this.rebalanced.promise;
  }

  private rebalance(): void {
    this.generation++;
    const wake = this.rebalanced;
    this.rebalanced = deferred();
    wake.resolve();
    this.owner.clear();
    if (this.members.length > 0) {
      this.log.partitions.forEach((_, p) => this.owner.set(p, this.members[p % this.members.length] as GroupMember));
    }
    for (const member of this.members) {
      member.assigned(
        this.log.partitions.map((_, p) => p).filter((p) => this.owner.get(p) === member),
        this.generation,
      );
    }
  }
}

/** Told when a member resumes past records trimmed before it read them: offsets `from` up to `to` (exclusive). */
type TrimmedListener = (topic: string, partition: number, from: number, to: number) => void;

/** One subscription: a member of its group that works through its partitions, one record at a time per partition. */
class GroupMember implements Subscription {
  private stopping = false;
  private readonly stopped = deferred();
  private readonly abandon = new AbortController();
  private readonly loops = new Set<Promise<void>>();
  private active = 0;
  private readonly slotFreed: Deferred[] = [];

  constructor(
    private readonly group: ConsumerGroup,
    private readonly process: RecordProcessor,
    private readonly concurrency: number,
    private readonly graceMs: number,
    private readonly onClosed: (member: GroupMember) => void,
    private readonly onTrimmed: TrimmedListener,
  ) {}

  assigned(partitions: readonly number[], generation: number): void {
    if (this.stopping) return;
    for (const partition of partitions) {
      const loop = this.consume(partition, generation).finally(() => this.loops.delete(loop));
      this.loops.add(loop);
    }
  }

  private async consume(partition: number, generation: number): Promise<void> {
    const release = await this.group.hold(partition);
    try {
      let position = this.group.committed[partition] ?? 0;
      let sliceStart = performance.now();
      const records = this.group.log.partitions[partition] as PartitionLog;
      while (!this.stopping && this.group.owns(this, partition, generation)) {
        if (position < records.start) {
          // fell behind the retention window: resync at the oldest record retained, and say what was skipped
          this.onTrimmed(this.group.log.name, partition, position, records.start);
          position = records.start;
          this.group.commit(partition, position);
        }
        const record = records.at(position);
        if (record === undefined) {
          await Promise.race([this.group.log.nextAppend(), this.stopped.promise, this.group.nextRebalance()]);
          // waiting was a pause: a slice of work starts with the records that woke it
          sliceStart = performance.now();
          continue;
        }
        // Kafka's consumer waits on the network between fetches; here the next record is there at once, and a
        // loop of resolved promises would hold every timer and socket of the process (lease renewals, deadlines,
        // HTTP) until the backlog is done. After a slice of work, the next record waits for a turn of the event
        // loop; within a slice records follow at once, so a backlog still drains fast (issue 15, ADR 0044).
        if (performance.now() - sliceStart >= DELIVERY_SLICE_MS) {
          await yieldToEventLoop();
          sliceStart = performance.now();
          if (this.stopping || !this.group.owns(this, partition, generation)) break;
        }
        await this.acquireSlot();
        let outcome: DeliveryOutcome;
        try {
          outcome = await this.process(
            record,
            { topic: this.group.log.name, partition, offset: String(position) },
            this.abandon.signal,
            async () => !this.stopping && this.group.owns(this, partition, generation),
          );
        } finally {
          this.releaseSlot();
        }
        if (outcome === 'abandoned') return;
        position++;
        this.group.commit(partition, position);
      }
    } finally {
      release();
    }
  }

  private async acquireSlot(): Promise<void> {
    while (this.active >= this.concurrency) {
      const slot = deferred();
      this.slotFreed.push(slot);
      await slot.promise;
    }
    this.active++;
  }

  private releaseSlot(): void {
    this.active--;
    this.slotFreed.shift()?.resolve();
  }

  async close(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.stopped.resolve();
    const finished = Promise.all([...this.loops]).then(() => 'finished' as const);
    const graceTimer = new AbortController();
    const outcome = await Promise.race([
      finished,
      sleep(this.graceMs, graceTimer.signal).then(() => 'grace-over' as const),
    ]);
    graceTimer.abort();
    if (outcome === 'grace-over') {
      this.abandon.abort();
      await finished;
    }
    this.group.leave(this);
    this.onClosed(this);
  }
}

export interface InMemoryBusOptions extends BusOptions {
  /** share one broker between bus clients (services of one process); default: a private broker */
  readonly broker?: InMemoryBroker;
}

/**
 * A broker for `createInMemoryBus({ broker })`; `partitions` per topic, default 3; `retainRecords` per partition,
 * default 10,000 (DEFAULT_RETAIN_RECORDS), and at most `retainBytes` per partition, default 16 MiB
 * (DEFAULT_RETAIN_BYTES): older records are trimmed so memory stays bounded.
 */
export function createInMemoryBroker(
  options: { readonly partitions?: number; readonly retainRecords?: number; readonly retainBytes?: number } = {},
): InMemoryBroker {
  return new InMemoryBroker(
    options.partitions ?? 3,
    options.retainRecords ?? DEFAULT_RETAIN_RECORDS,
    options.retainBytes ?? DEFAULT_RETAIN_BYTES,
  );
}

class InMemoryEventBus implements EventBus {
  private readonly members = new Set<GroupMember>();
  private closed = false;

  constructor(
    private readonly broker: InMemoryBroker,
    private readonly options: ResolvedBusOptions,
  ) {}

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.closed) throw closedError('the event bus');
    await publishInSpan(messages, this.options, async (encoded) => {
      for (const { topicName, record } of encoded) this.broker.append(topicName, record);
    });
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    return this.join(
      messageSubscription(options, this.options, async (dlq) => {
        this.broker.append(this.options.topicNames.dlq, dlq);
      }),
    );
  }

  async subscribeDeadLetters(options: DeadLetterSubscribeOptions): Promise<Subscription> {
    return this.join(deadLetterSubscription(options, this.options));
  }

  private join({ topicName, groupId, fromBeginning, concurrency, process }: SubscriptionPlan): Subscription {
    if (this.closed) throw closedError('the event bus');
    const group = this.broker.group(topicName, groupId, fromBeginning);
    const member = new GroupMember(
      group,
      process,
      concurrency,
      this.options.shutdownGraceMs,
      (m) => this.members.delete(m),
      (topic, partition, from, to) =>
        this.options.logger.warn(
          { topic, partition, groupId, skipped: to - from, fromOffset: from, resumeOffset: to },
          'in-memory bus: records trimmed before this group read them were skipped (retention)',
        ),
    );
    this.members.add(member);
    group.join(member);
    return member;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.members].map((m) => m.close()));
  }
}

/** An EventBus in this process. Pass the same `broker` to every client that should see the others' messages. */
export function createInMemoryBus(options: InMemoryBusOptions): EventBus {
  return new InMemoryEventBus(options.broker ?? createInMemoryBroker(), resolveBusOptions(options));
}
