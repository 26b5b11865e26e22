import { SpanKind, trace, type Context } from '@opentelemetry/api';
import { MessageType } from '@meshwave/contracts';
import { HandlerRetryableError, type DeadLetter, type IncomingMessage } from '@meshwave/bus';
import type { StateStore } from '@meshwave/store';
import { handlerContext, rolloutAttributes, withRolloutIds, withSpan, type Logger } from '@meshwave/telemetry';
import {
  acceptDesiredState,
  acceptHalt,
  emptyLedger,
  type CommandLedger,
  type LedgerDecision,
} from '../core/command-ledger.js';
import type { AgentMetrics } from '../metrics/agent-metrics.js';
import type { EventPublisher } from './event-publisher.js';

export interface CommandIntakeOptions {
  readonly cluster: string;
  /** this agent's bus address (`cluster:<name>`), the source of its refusals */
  readonly source: string;
  /** persists the command ledger, so a restarted agent keeps refusing stale commands; default: memory only */
  readonly store?: StateStore;
  /** fencing epoch of this agent's store writes */
  readonly epoch: number;
  readonly log: Logger;
  readonly metrics: AgentMetrics;
  readonly publisher: EventPublisher;
  /** a command changed the ledger (already persisted) */
  readonly onAccepted: (rolloutId: string | undefined) => void;
}

/** Takes commands in: fences them against the ledger, persists the ledger, refuses the stale ones aloud. */
export interface CommandIntake {
  /** the ledger as last accepted */
  readonly ledger: () => CommandLedger;
  /** reads the ledger the last leader persisted */
  load(): Promise<void>;
  handleCommand(message: IncomingMessage): Promise<void>;
  /** a command the bus refused before it reached the handler (bad signature, bad schema) */
  onRejected(dl: DeadLetter): Promise<void>;
  /** trace context of the command that last changed each rollout, so relabel/restart spans join its trace */
  readonly rolloutTrace: ReadonlyMap<string, Context>;
}

/** Where the ledger is stored: one document per cluster, read by standby replicas too. */
export const LEDGER_DOC = 'ledger';
export const ledgerScope = (cluster: string): string => `cluster-agent/${cluster}`;
const tracer = trace.getTracer('@meshwave/cluster-agent');

const decide = (ledger: CommandLedger, cluster: string, message: IncomingMessage): LedgerDecision | undefined => {
  // The bus validated `data` against its type's schema: the union narrows it, no second parse.
  if (message.type === MessageType.ClusterDesiredState) return acceptDesiredState(ledger, cluster, message.data);
  if (message.type === MessageType.Halt) return acceptHalt(ledger, cluster, message.data);
  return undefined;
};

/**
 * Writes the ledger, fenced by `epoch`. A store that cannot be reached (down, loading) is a passing condition: the
 * command is retried, or left uncommitted for redelivery, never dead-lettered for it (ADR 0004).
 */
function writeLedger(
  to: StateStore,
  { cluster, epoch }: { readonly cluster: string; readonly epoch: number },
  next: CommandLedger,
  expectedVersion: number,
) {
  return to
    .transition({ scope: ledgerScope(cluster), epoch, writes: [{ name: LEDGER_DOC, value: next, expectedVersion }] })
    .catch((error: unknown) => {
      const text = error instanceof Error ? error.message : String(error);
      throw new HandlerRetryableError(`the command ledger could not be written: ${text}`, { cause: error });
    });
}

export function createCommandIntake(options: CommandIntakeOptions): CommandIntake {
  const { cluster, source, store, epoch, log, metrics } = options;
  const { publish, event } = options.publisher;
  let ledger: CommandLedger = emptyLedger();
  let storeVersion = 0;
  const rolloutTrace = new Map<string, Context>();

  const write = (to: StateStore, next: CommandLedger, expectedVersion: number) =>
    writeLedger(to, { cluster, epoch }, next, expectedVersion);
  const persist = async (next: CommandLedger): Promise<void> => {
    if (!store) return;
    let result = await write(store, next, storeVersion);
    if (!result.ok && result.reason === 'version-conflict' && result.actualVersion === 0 && storeVersion > 0) {
      // The ledger this agent wrote is gone: the store lost its data (ADR 0025). What this agent holds is all
      // that is left of it, so it is written again rather than every command failing from now on.
      log.warn({ lostVersion: storeVersion }, 'the stored command ledger is gone (store data lost); writing it again');
      result = await write(store, next, 0);
    }
    if (!result.ok) throw new Error(`ledger write refused: ${result.reason}`);
    storeVersion = result.versions[LEDGER_DOC] ?? storeVersion + 1;
  };

  const handleCommand = async (message: IncomingMessage): Promise<void> => {
    const receivedAt = performance.now();
    const parent = handlerContext({
      ...(message.traceparent ? { traceparent: message.traceparent } : {}),
      ...(message.tracestate ? { tracestate: message.tracestate } : {}),
    });
    // Commands share one header (rollout, wave, generation, epoch); anything else has none to trace by.
    const data: { rolloutId?: string; wave?: number; generation?: number; epoch?: number } =
      message.type === MessageType.ClusterDesiredState || message.type === MessageType.Halt ? message.data : {};
    const attrs = {
      ...rolloutAttributes({ rolloutId: data.rolloutId, wave: data.wave, cluster }),
      'meshwave.generation': data.generation ?? 0,
      'meshwave.epoch': data.epoch ?? 0,
      'messaging.message.id': message.id,
    };
    // the bus's `process <topic>` span is the messaging one; this is the agent's own step inside it
    const span = { kind: SpanKind.INTERNAL, parent, attributes: attrs };
    await withSpan(tracer, 'apply command', span, async (active) => {
      const decision = decide(ledger, cluster, message);
      if (!decision) return;
      active.setAttribute('meshwave.command.outcome', decision.outcome);
      metrics.recordCommand(decision.outcome);
      const clog = withRolloutIds(log, { rolloutId: data.rolloutId, wave: data.wave, cluster });
      if (decision.outcome === 'rejected') {
        clog.warn({ reason: decision.reason, detail: decision.detail, commandId: message.id }, 'command refused');
        const refusal = { source, commandId: message.id, reason: decision.reason, detail: decision.detail };
        await publish([event(MessageType.CommandRejected, refusal)]);
        return;
      }
      if (decision.outcome === 'duplicate') {
        // Nothing to apply; a newer epoch on it is kept, so the deposed leader's commands are refused from now on.
        if (decision.ledger) {
          await persist(decision.ledger);
          ledger = decision.ledger;
        }
        return;
      }
      await persist(decision.ledger);
      ledger = decision.ledger;
      if (data.rolloutId) rolloutTrace.set(data.rolloutId, trace.setSpan(parent, active));
      // `publishedAt` (the command's own time) against the line's, less `handledMs`: how long the bus took
      const { type, time: publishedAt } = message;
      const handledMs = Math.round(performance.now() - receivedAt);
      clog.info({ type, generation: data.generation, epoch: data.epoch, publishedAt, handledMs }, 'command accepted');
      options.onAccepted(data.rolloutId);
    });
  };

  return {
    ledger: () => ledger,
    rolloutTrace,
    async load() {
      if (!store) return;
      const doc = await store.read(ledgerScope(cluster), LEDGER_DOC);
      if (doc) {
        ledger = doc.value as CommandLedger;
        storeVersion = doc.version;
      }
    },
    handleCommand,
    async onRejected(dl) {
      metrics.recordCommand(`refused-${dl.reason}`);
      log.warn({ reason: dl.reason, detail: dl.detail }, 'command refused by the bus');
      await publish([
        event(MessageType.CommandRejected, {
          source,
          commandId: dl.headers.ce_id,
          reason: dl.reason,
          detail: dl.detail,
        }),
      ]);
    },
  };
}
