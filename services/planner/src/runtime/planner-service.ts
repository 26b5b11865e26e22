// The planner as a process's service: backing bus and store, the engine, the HTTP API, in the order that keeps
// start-up from losing to work. `main.ts` only reads the environment and maps the outcome to an exit code.
import { randomBytes } from 'node:crypto';
import { createBusFor } from '@meshwave/bus';
import { createStoreFor } from '@meshwave/store';
import type { Logger } from '@meshwave/telemetry';
import type { FastifyInstance } from 'fastify';
import type { PlannerEnvConfig } from '../config/env-config.js';
import { agentReportHealthSource } from '../core/health-source.js';
import { metricHealthSources } from '../core/metric-gates.js';
import { PlannerError, PlannerErrorCode } from '../errors.js';
import { buildApp } from '../http/app.js';
import { createMetricSampler } from '../metrics/metric-sampler.js';
import { createPrometheusClient } from '../metrics/prometheus-client.js';
import { createPlanner, type Planner } from './planner.js';

export interface PlannerService {
  readonly planner: Planner;
  readonly app: FastifyInstance;
  /** the address the API listens on */
  readonly address: string;
  /** closes the API, the engine, the bus and the store */
  stop(): Promise<void>;
}

/**
 * Starts the planner: the API is built and listening before the engine starts (leader election, the events
 * consumer, the first reconciles), so heavy start-up work can never starve fastify's plugin loading and a probe
 * sees a process that answers (not ready until it leads or follows). Any failure stops what was started and
 * rejects: the caller exits non-zero.
 */
export async function startPlannerService(config: PlannerEnvConfig, logger: Logger): Promise<PlannerService> {
  const source = `planner/${config.instanceId ?? process.pid}`;
  if (config.backing.mode === 'in-memory')
    logger.warn('MESHWAVE_IN_MEMORY: in-memory bus and store; nothing outside this process reaches this planner');
  const bus = createBusFor(config.backing, {
    source,
    // In memory nothing leaves the process, so a key of its own is enough when none is configured.
    signing: config.signing ?? { keys: [{ id: 'in-memory', secret: randomBytes(32) }], activeKeyId: 'in-memory' },
    logger,
  });
  const store = createStoreFor(config.backing, { auditRetentionMs: config.auditRetentionMs });
  const stops: (() => Promise<void>)[] = [() => store.close(), () => bus.close()];
  const stop = async (): Promise<void> => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    const planner = createPlanner({ bus, store, config: plannerConfigOf(config, logger) });
    const app = await buildApp({ planner, tokens: config.tokens, logger, limits: config.http });
    stops.push(() => app.close());
    const address = await app.listen({ host: config.host, port: config.port });
    logger.info({ address, instance: planner.instanceId }, 'planner listening');
    stops.push(() => planner.stop());
    await planner.start();
    return { planner, app, address, stop };
  } catch (err) {
    await stop().catch((e: unknown) => logger.error({ err: e }, 'stopping after a failed start failed'));
    throw err;
  }
}

/** The process's exit code for a failed start: 2 for configuration (as the other services), 1 otherwise. */
export function startFailureExitCode(error: unknown): number {
  return error instanceof PlannerError && error.code === PlannerErrorCode.InvalidConfig ? 2 : 1;
}

function plannerConfigOf(config: PlannerEnvConfig, logger: Logger): Parameters<typeof createPlanner>[0]['config'] {
  const prom = config.prometheus;
  if (prom)
    logger.info(
      { url: prom.url, clusterLabel: prom.clusterLabel, windowSeconds: prom.windowSeconds },
      'metric gates evaluated against Prometheus',
    );
  else logger.info('no MESHWAVE_PROMETHEUS_URL: rollouts with metric gates (errorRate, latencyP99) are refused');
  return {
    logger,
    ...(config.instanceId ? { instanceId: config.instanceId } : {}),
    ...(config.advertiseUrl ? { advertiseUrl: config.advertiseUrl } : {}),
    ...(config.leaseTtlMs
      ? { leaseTtlMs: config.leaseTtlMs, leaseRenewMs: Math.max(100, Math.floor(config.leaseTtlMs / 3)) }
      : {}),
    ...(config.resyncAfterMs ? { resyncAfterMs: config.resyncAfterMs } : {}),
    ...(config.eventsGroupId ? { eventsGroupId: config.eventsGroupId } : {}),
    ...(config.gateRetryMs ? { gateRetryMs: config.gateRetryMs } : {}),
    ...(config.heartbeatTimeoutMs ? { heartbeatTimeoutMs: config.heartbeatTimeoutMs } : {}),
    ...(config.policy ? { policy: config.policy } : {}),
    ...(config.loopLagThresholdMs ? { loopLagThresholdMs: config.loopLagThresholdMs } : {}),
    ...(prom
      ? {
          metricSampler: createMetricSampler({
            client: createPrometheusClient({ url: prom.url, timeoutMs: prom.timeoutMs }),
            maxWindowSeconds: prom.windowSeconds,
            cacheMs: prom.cacheMs,
            timeoutMs: prom.timeoutMs,
            ...(prom.clusterLabel ? { clusterLabel: prom.clusterLabel } : {}),
          }),
          healthSources: [
            agentReportHealthSource,
            ...metricHealthSources({ minRequests: prom.minRequests, minWorkloadRequests: prom.minWorkloadRequests }),
          ],
        }
      : {}),
  };
}
