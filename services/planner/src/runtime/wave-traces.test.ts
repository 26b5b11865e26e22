import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import type { Decision } from '../core/decision.js';
import type { RolloutRecord } from '../core/rollout-state.js';
import { waveTraceOf } from './wave-traces.js';

const CREATION = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('waveTraceOf', () => {
  it("Given a wave not dispatched (nothing stored for it), Then the reconcile joins the rollout's creation span, not a trace of its own", () => {
    // only the fields waveTraceOf reads
    const record = {
      id: 'r1',
      traceparent: CREATION,
      plan: { waves: [{ name: 'canary' }] },
    } as unknown as RolloutRecord;
    const decision = { state: { wave: 0 }, transitions: [] } as unknown as Decision;
    const { parent, writes } = waveTraceOf(trace.getTracer('t'), new Map(), record, decision);
    expect(trace.getSpanContext(parent)).toMatchObject({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
    });
    expect(writes).toEqual([]);
  });
});
