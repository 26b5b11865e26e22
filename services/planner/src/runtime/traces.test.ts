import { createInMemoryBroker, createInMemoryBus } from '@meshwave/bus';
import { createInMemoryStore } from '@meshwave/store';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { MeshwaveAttribute, startTelemetry } from '@meshwave/telemetry';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ScriptedCluster,
  newFleetWorkloads,
  newRolloutYaml,
} from '../../../../test/integration/planner/scripted-agents.js';
import { createPlanner } from './planner.js';

const exporter = new InMemorySpanExporter();
const telemetry = startTelemetry({ serviceName: 'planner-trace-test', spanExporter: exporter, env: {} });
afterAll(() => telemetry.shutdown());
const signing = { keys: [{ id: 'test', secret: 'meshwave-test-signing-key-0123456789abcdef' }], activeKeyId: 'test' };

describe('traces', () => {
  it('Given a rollout, Then it is one trace: each wave a child of the creation span, the reconciles and publishes of each wave its children', async () => {
    const broker = createInMemoryBroker();
    const store = createInMemoryStore();
    const planner = createPlanner({
      bus: createInMemoryBus({ broker, source: 'planner', signing }),
      store,
      config: { instanceId: 't', leaseRenewMs: 50, leaseTtlMs: 5000, timerTickMs: 20 },
    });
    const agent = new ScriptedCluster({
      name: 'prod-1',
      bus: createInMemoryBus({ broker, source: 'cluster-agent/prod-1', signing }),
      workloads: newFleetWorkloads(6),
    });
    await agent.start();
    await planner.start();
    try {
      for (let i = 0; i < 500 && !((await planner.fleet()).clusters.length === 1 && planner.isLeader()); i++)
        await new Promise((r) => setTimeout(r, 10));
      const created = await planner.createRollout({ spec: newRolloutYaml({ waves: [50, 100] }) }, 'alice');
      for (let i = 0; i < 1000 && (await planner.getRollout(created.id)).phase !== 'Completed'; i++)
        await new Promise((r) => setTimeout(r, 10));
      const spans = exporter.getFinishedSpans();
      const creation = spans.find((s) => s.name === 'create rollout')!;
      expect(creation.attributes[MeshwaveAttribute.RolloutId]).toBe(created.id);
      const waves = spans.filter((s) => s.name.startsWith('wave '));
      expect(waves.map((s) => s.name)).toEqual(['wave wave-0', 'wave wave-1']);
      const traceId = creation.spanContext().traceId;
      expect(waves.map((s) => s.spanContext().traceId)).toEqual([traceId, traceId]);
      expect((await planner.getRollout(created.id)).traceId).toBe(traceId);
      // every reconcile of the rollout is in its trace, those before a wave is dispatched too
      const reconciles = spans.filter(
        (s) => s.name === 'reconcile rollout' && s.attributes[MeshwaveAttribute.RolloutId] === created.id,
      );
      expect(reconciles.filter((s) => s.spanContext().traceId !== traceId)).toEqual([]);
      for (const w of waves) {
        expect(w.parentSpanContext?.spanId).toBe(creation.spanContext().spanId);
        const reconciles = spans.filter(
          (s) => s.name === 'reconcile rollout' && s.parentSpanContext?.spanId === w.spanContext().spanId,
        );
        expect(reconciles.some((r) => r.events.some((e) => e.name === 'transition'))).toBe(true);
        const reconcileIds = new Set(reconciles.map((r) => r.spanContext().spanId));
        expect(
          spans.some((s) => s.name.startsWith('publish ') && reconcileIds.has(s.parentSpanContext?.spanId ?? '')),
        ).toBe(true);
      }
    } finally {
      await planner.stop();
      await agent.stop();
    }
  });
});
