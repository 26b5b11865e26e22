// The planner as a service: configuration from the environment, Kafka and Redis, OpenTelemetry, the HTTP API.
import { createKafkaBus } from '@meshwave/bus';
import { createRedisStore } from '@meshwave/store';
import { createLogger, startTelemetry } from '@meshwave/telemetry';
import { metricHealthSources } from './engine/metric-gates.js';
import { agentReportHealthSource } from './engine/health-source.js';
import { readPlannerEnv } from './env-config.js';
import { createMetricSampler } from './metrics/metric-sampler.js';
import { createPrometheusClient } from './metrics/prometheus-client.js';
import { buildApp } from './http/app.js';
import { createPlanner } from './runtime/planner.js';

const telemetry = startTelemetry({ serviceName: 'meshwave-planner' });
const logger = createLogger({ service: 'planner' });

async function main(): Promise<void> {
  const config = readPlannerEnv(process.env);
  const source = `planner/${config.instanceId ?? process.pid}`;
  const bus = createKafkaBus({
    brokers: config.kafkaBrokers,
    source,
    signing: config.signing,
    topicNames: config.topicNames,
    logger,
    ...(config.kafkaClientId ? { clientId: config.kafkaClientId } : {}),
    ...(config.kafkaSessionTimeoutMs
      ? {
          sessionTimeoutMs: config.kafkaSessionTimeoutMs,
          heartbeatIntervalMs: Math.max(100, Math.floor(config.kafkaSessionTimeoutMs / 3)),
        }
      : {}),
  });
  const store = createRedisStore({
    url: config.redisUrl,
    ...(config.redisKeyPrefix ? { keyPrefix: config.redisKeyPrefix } : {}),
  });
  const prom = config.prometheus;
  if (prom)
    logger.info(
      { url: prom.url, clusterLabel: prom.clusterLabel, windowSeconds: prom.windowSeconds },
      'metric gates evaluated against Prometheus',
    );
  else logger.info('no MESHWAVE_PROMETHEUS_URL: rollouts with metric gates (errorRate, latencyP99) are refused');
  const planner = createPlanner({
    bus,
    store,
    config: {
      logger,
      ...(config.instanceId ? { instanceId: config.instanceId } : {}),
      ...(config.advertiseUrl ? { advertiseUrl: config.advertiseUrl } : {}),
      ...(config.leaseTtlMs
        ? { leaseTtlMs: config.leaseTtlMs, leaseRenewMs: Math.max(100, Math.floor(config.leaseTtlMs / 3)) }
        : {}),
      ...(config.resyncAfterMs ? { resyncAfterMs: config.resyncAfterMs } : {}),
      ...(config.eventsGroupId ? { eventsGroupId: config.eventsGroupId } : {}),
      ...(config.gateRetryMs ? { gateRetryMs: config.gateRetryMs } : {}),
      ...(prom
        ? {
            metricSampler: createMetricSampler({
              client: createPrometheusClient({ url: prom.url, timeoutMs: prom.timeoutMs }),
              maxWindowSeconds: prom.windowSeconds,
              cacheMs: prom.cacheMs,
              ...(prom.clusterLabel ? { clusterLabel: prom.clusterLabel } : {}),
            }),
            healthSources: [
              agentReportHealthSource,
              ...metricHealthSources({ minRequests: prom.minRequests, minWorkloadRequests: prom.minWorkloadRequests }),
            ],
          }
        : {}),
    },
  });
  const app = await buildApp({
    planner,
    tokens: config.tokens,
    logger,
    limits: config.http,
  });
  await planner.start();
  const address = await app.listen({ host: config.host, port: config.port });
  logger.info({ address, instance: planner.instanceId }, 'planner listening');

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await app.close();
    await planner.stop();
    await bus.close();
    await store.close();
    await telemetry.shutdown();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, 'planner failed to start');
  process.exit(1);
});
