import { TransitionTrigger } from '@meshwave/contracts';
import { trace, type Tracer } from '@opentelemetry/api';
import type { VersionedDoc } from '@meshwave/store';
import {
  extractTraceContext,
  injectTraceContext,
  rolloutAttributes,
  spanContextFromTraceparent,
} from '@meshwave/telemetry';
import type { Decision } from '../core/decision.js';
import type { RolloutRecord } from '../core/rollout-state.js';
import { StoredWaveTrace, parseStoredIfAny } from './stored-documents.js';

/** The context a reconcile's span joins, and the documents to store with the state when a wave trace starts. */
export interface WaveTrace {
  readonly parent: ReturnType<typeof extractTraceContext>;
  readonly writes: { name: string; value: unknown }[];
}

/**
 * One trace per rollout: each wave's span is started when the wave is dispatched as a child of the rollout's
 * creation span (its traceparent is in the record), and stored with the state, so every later reconcile of the
 * wave (in whichever leader), the commands it publishes and everything the agents do for them join that one
 * trace. A record without a traceparent (no tracing when it was created) gets a trace per wave instead.
 */
export function waveTraceOf(
  tracer: Tracer,
  docs: ReadonlyMap<string, VersionedDoc>,
  record: RolloutRecord,
  decision: Decision,
): WaveTrace {
  const wave = decision.state.wave;
  const name = `trace/wave/${wave}`;
  const stored = parseStoredIfAny(StoredWaveTrace, docs.get(name), name);
  if (stored?.traceparent) return { parent: extractTraceContext({ traceparent: stored.traceparent }), writes: [] };
  const creation = spanContextFromTraceparent(record.traceparent);
  // before its wave is dispatched (or when nothing is), a reconcile is still a step of the rollout's trace
  if (!decision.transitions.some((t) => t.trigger === TransitionTrigger.Dispatched))
    return { parent: extractTraceContext({ traceparent: record.traceparent }), writes: [] };
  const span = tracer.startSpan(
    `wave ${record.plan.waves[wave]?.name ?? wave}`,
    { root: creation === undefined, attributes: rolloutAttributes({ rolloutId: record.id, wave }) },
    creation !== undefined ? trace.setSpanContext(extractTraceContext(undefined), creation) : undefined,
  );
  const parent = trace.setSpan(extractTraceContext(undefined), span);
  span.end();
  return { parent, writes: [{ name, value: injectTraceContext(parent) }] };
}
