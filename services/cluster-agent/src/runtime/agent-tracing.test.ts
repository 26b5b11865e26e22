import { afterAll, describe, expect, it } from 'vitest';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { createInMemoryBroker, createInMemoryBus } from '@meshwave/bus';
import { MessageType, clusterKey } from '@meshwave/contracts';
import { startTelemetry } from '@meshwave/telemetry';
import { newDesiredState } from '../core/command-fixtures.js';
import { createClusterAgent } from './cluster-agent.js';
import { createManualClock } from '@meshwave/reconcile';
import { createSimulatedCluster } from '../adapters/simulated-cluster.js';
import { IstioLabel } from '@meshwave/istio';

const exporter = new InMemorySpanExporter();
const telemetry = startTelemetry({ serviceName: 'cluster-agent-test', spanExporter: exporter, env: {} });
afterAll(() => telemetry.shutdown());

describe('cluster agent tracing', () => {
  it('continues the command trace: process, relabel and restart spans share its trace id and carry rollout, wave and cluster', async () => {
    const clock = createManualClock();
    const sim = createSimulatedCluster({ clock, podStartMs: 500 });
    sim.createNamespace('shop', { [IstioLabel.Revision]: '1-24-5' });
    sim.createWorkload({ namespace: 'shop', name: 'cart' });
    const signing = { keys: [{ id: 'k', secret: 'y'.repeat(32) }], activeKeyId: 'k' };
    const agent = createClusterAgent({
      cluster: 'c1',
      kubernetes: sim,
      bus: createInMemoryBus({ source: 'c1', signing, broker: createInMemoryBroker() }),
      clock,
    });
    await agent.start();
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const data = newDesiredState({ rolloutId: 'r9', wave: 2, units: [{ namespace: 'shop', revision: '1-25-2' }] });
    await agent.handleCommand({
      id: 'm1',
      type: MessageType.ClusterDesiredState,
      source: 'planner',
      time: new Date().toISOString(),
      key: clusterKey('c1'),
      data,
      traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      partition: 0,
      offset: '0',
    });
    await clock.advance(2_000);
    await agent.stop();
    sim.close();
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const names = spans.map((s) => s.name);
    expect(names).toContain('apply command');
    expect(names).toContain('relabel namespace');
    expect(names).toContain('restart Deployment');
    for (const s of spans)
      expect(s.attributes).toMatchObject({ 'meshwave.rollout.id': 'r9', 'meshwave.wave': 2, 'meshwave.cluster': 'c1' });
  });
});
