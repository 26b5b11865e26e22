import { createServer, type Server } from 'node:http';
import type { AgentMetrics } from '../metrics/agent-metrics.js';

/** The agent's plain HTTP endpoints: Prometheus `/metrics`, `/healthz`, and `/readyz` naming the replica's role. */
export interface ProbeServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startProbeServer(options: {
  readonly metrics: AgentMetrics;
  readonly port: number;
  readonly host: string;
  /** `leader` or `standby` */
  readonly role: () => string;
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
      res.writeHead(200).end(options.role());
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => httpServer.listen(options.port, options.host, resolve));
  const address = httpServer.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () => new Promise<void>((r) => httpServer.close(() => r())),
  };
}
