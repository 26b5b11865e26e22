#!/usr/bin/env node
// The planner as a service: configuration from the environment, Kafka and Redis, OpenTelemetry, the HTTP API.
import { randomBytes } from 'node:crypto';
import { createBusFor } from '@meshwave/bus';
import { createStoreFor } from '@meshwave/store';
import { createLogger, startTelemetry } from '@meshwave/telemetry';
import { metricHealthSources } from './core/metric-gates.js';
import { agentReportHealthSource } from './core/health-source.js';
import { PLANNER_USAGE, readPlannerEnv } from './config/env-config.js';
import { PlannerError, PlannerErrorCode } from './errors.js';
import { createMetricSampler } from './metrics/metric-sampler.js';
import { createPrometheusClient } from './metrics/prometheus-client.js';
import { buildApp } from './http/app.js';
import { createPlanner } from './runtime/planner.js';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(`${PLANNER_USAGE}\n`);
  process.exit(0);
}
if (args.length > 0) {
  process.stderr.write(`meshwave-planner: unexpected arguments: ${args.join(' ')}\n${PLANNER_USAGE}\n`);
  process.exit(2);
}

const telemetry = startTelemetry({ serviceName: 'meshwave-planner' });
const logger = createLogger({ service: 'planner' });

async function main(): Promise<void> {
  const config = readPlannerEnv(process.env);
  const source = `planner/${config.instanceId ?? process.pid}`;
  if (config.backing.mode === 'in-memory')
    logger.warn('MESHWAVE_IN_MEMORY: in-memory bus and store; nothing outside this process reaches this planner');
  const bus = createBusFor(config.backing, {
    source,
    // In memory nothing leaves the process, so a key of its own is enough when none is configured.
    signing: config.signing ?? { keys: [{ id: 'in-memory', secret: randomBytes(32) }], activeKeyId: 'in-memory' },
    logger,
    ...(config.kafkaSessionTimeoutMs
      ? {
          sessionTimeoutMs: config.kafkaSessionTimeoutMs,
          heartbeatIntervalMs: Math.max(100, Math.floor(config.kafkaSessionTimeoutMs / 3)),
        }
      : {}),
  });
  const store = createStoreFor(config.backing, { auditRetentionMs: config.auditRetentionMs });
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
  if (error instanceof PlannerError && error.code === PlannerErrorCode.InvalidConfig) {
    // Configuration: one line per problem, for the person reading `kubectl logs`; exit 2 as the other services.
    process.stderr.write(`meshwave-planner: ${error.message}\n`);
    process.exit(2);
  }
  logger.fatal({ err: error }, 'planner failed to start');
  process.exit(1);
});
