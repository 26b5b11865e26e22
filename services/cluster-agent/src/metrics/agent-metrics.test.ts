import { describe, expect, it } from 'vitest';
import { AgentMetrics } from './agent-metrics.js';

describe('agent metrics', () => {
  it('renders units by state, restarts in flight, API requests and 429s for its own cluster', async () => {
    const m = new AgentMetrics('c1');
    m.observeUnits(() => ({ counts: { converged: 3, restarting: 2 }, inFlight: 2 }));
    m.recordApiResponse('patch', 200);
    m.recordApiResponse('patch', 429);
    const { body } = await m.render();
    expect(body).toContain('meshwave_agent_units{state="converged",cluster="c1"} 3');
    expect(body).toContain('meshwave_agent_restarts_in_flight{cluster="c1"} 2');
    expect(body).toContain('meshwave_agent_kube_api_requests_total{verb="patch",code="429",cluster="c1"} 1');
    expect(body).toContain('meshwave_agent_kube_api_throttled_total{cluster="c1"} 1');
  });

  it('renders the event-loop delay of the last window and whether the agent is degraded by it', async () => {
    const m = new AgentMetrics('c1');
    m.observeEventLoop(() => ({ p99Ms: 12, maxMs: 1500, degraded: true }));
    const { body } = await m.render();
    expect(body).toContain('meshwave_event_loop_delay_seconds{quantile="0.99",cluster="c1"} 0.012');
    expect(body).toContain('meshwave_event_loop_delay_seconds{quantile="1",cluster="c1"} 1.5');
    expect(body).toContain('meshwave_agent_degraded{cluster="c1"} 1');
  });
});
