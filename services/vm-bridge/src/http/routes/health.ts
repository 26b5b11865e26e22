import type { FastifyInstance } from 'fastify';
import type { VmBridge } from '../../runtime/vm-bridge.js';

/** /healthz (ready only while this replica holds the lease and consumes its commands) and /metrics. */
export function registerHealthRoutes(app: FastifyInstance, bridge: VmBridge): void {
  app.get('/healthz', async (_request, reply) => {
    if (!bridge.active)
      return reply.status(503).send({ status: 'standby', message: 'waiting for the vm-bridge lease' });
    if (!bridge.ready)
      return reply.status(503).send({ status: 'starting', message: 'joining the commands consumer group' });
    return { status: 'ok' };
  });

  app.get('/metrics', async (_request, reply) => {
    const body = await bridge.metrics.registry.metrics();
    return reply.header('content-type', bridge.metrics.registry.contentType).send(body);
  });
}
