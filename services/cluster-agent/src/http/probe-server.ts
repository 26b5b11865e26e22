import { createServer, type Server } from 'node:http';
import type { AgentMetrics } from '../metrics/agent-metrics.js';

/**
 * The agent's plain HTTP endpoints: Prometheus `/metrics`, `/healthz`, and `/readyz` naming the replica's role: 200
 * `leader` once the converge loop has started (caches synced, first reports sent, commands subscription joined: a
 * halt sent now is taken), 503 `starting` while the leading replica is not there yet, 200 `standby` for a replica
 * that waits for the lease.
 */
export interface ProbeServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startProbeServer(options: {
  readonly metrics: AgentMetrics;
  readonly port: number;
  readonly host: string;
  /** `leader`, `standby`, or `starting` (leads, converge loop not started yet: not ready) */
  readonly role: () => 'leader' | 'standby' | 'starting';
}): Promise<ProbeServer> {
  const { metrics } = options;
  const httpServer: Server = createServer((req, res) => {
    if (req.url === '/metrics') {
      void metrics
        .render()
        .then(({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body));
    } else if (req.url === '/healthz') {
      res.writeHead(200).end('ok');
    } else if (req.url === '/readyz') {
      const role = options.role();
      res.writeHead(role === 'starting' ? 503 : 200).end(role);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => httpServer.listen(options.port, options.host, resolve));
  const address = httpServer.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () => new Promise<void>((r) => httpServer.close(() => r())),
  };
}
