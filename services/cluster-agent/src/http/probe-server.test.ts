import { afterEach, describe, expect, it } from 'vitest';
import { AgentMetrics } from '../metrics/agent-metrics.js';
import { startProbeServer, type ProbeServer } from './probe-server.js';

const servers: ProbeServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function readyz(role: () => 'leader' | 'standby' | 'starting'): Promise<{ status: number; body: string }> {
  const server = await startProbeServer({ metrics: new AgentMetrics('c1'), port: 0, host: '127.0.0.1', role });
  servers.push(server);
  const res = await fetch(`http://127.0.0.1:${server.port}/readyz`);
  return { status: res.status, body: await res.text() };
}

describe('cluster-agent /readyz', () => {
  it('Given the leading replica whose converge loop has not started, When asked, Then it is not ready (a halt sent now would wait)', async () => {
    expect(await readyz(() => 'starting')).toEqual({ status: 503, body: 'starting' });
  });

  it('Given a started leader or a standby, When asked, Then each is ready and names its role', async () => {
    expect(await readyz(() => 'leader')).toEqual({ status: 200, body: 'leader' });
    expect(await readyz(() => 'standby')).toEqual({ status: 200, body: 'standby' });
  });
});
