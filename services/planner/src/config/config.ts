import os from 'node:os';
import { DEFAULT_EVENT_LOOP_DELAY_THRESHOLD_MS, type Policy } from '@meshwave/contracts';
import type { Logger } from '@meshwave/telemetry';
import type { HealthSource } from '../core/health-source.js';
import type { MetricSampler } from '../metrics/metric-sampler.js';

/** How a planner process behaves. Everything has a default except what identifies the deployment. */
export interface PlannerConfig {
  /** unique per process; default `<hostname>-<pid>` */
  readonly instanceId?: string;
  /** this replica's base URL as other replicas reach it; followers name the leader with it */
  readonly advertiseUrl?: string;
  readonly leaseName?: string;
  readonly leaseTtlMs?: number;
  readonly leaseRenewMs?: number;
  /** consumer group of the leader's event subscription */
  readonly eventsGroupId?: string;
  /** a target whose reports lag gets its desired state again after this long */
  readonly resyncAfterMs?: number;
  /** an Inconclusive final gate is evaluated again after this long */
  readonly gateRetryMs?: number;
  /** how often due timers are checked */
  readonly timerTickMs?: number;
  /** an agent silent this long makes its cluster Unreachable (agents beat every 10 s); default 60000 */
  readonly heartbeatTimeoutMs?: number;
  /** the policy per environment (MESHWAVE_POLICY): rules a rollout must keep, emergencies in blackouts */
  readonly policy?: Policy;
  /** how often a follower reloads state for its event stream */
  readonly followerPollMs?: number;
  /** rollouts reconciled at once */
  readonly concurrency?: number;
  /**
   * A rollout is reconciled at most once per this many ms for routine news (agent reports come in bursts and a
   * reconcile costs the rollout's size); failures and operator actions are reconciled at once. Default 250.
   */
  readonly reconcileIntervalMs?: number;
  /**
   * Past this event-loop delay (ms, p99 of the last window) the planner holds judgement: no gate or unit fails on
   * a deadline until the delay is back under (README: Holding judgement). Default 1000.
   */
  readonly loopLagThresholdMs?: number;
  /** the window of the event-loop delay measurement (ms); default 5000 */
  readonly loopLagWindowMs?: number;
  /** seconds until a command expires on the bus */
  readonly commandTtlSeconds?: number;
  /** default: agent reports and the metric gates with default thresholds */
  readonly healthSources?: readonly HealthSource[];
  /**
   * Fetches the metric gates' samples (Prometheus). Without one, a rollout asking for gates.errorRate or
   * gates.latencyP99 is refused at creation, and a stored one waits at its final gate (Inconclusive).
   */
  readonly metricSampler?: MetricSampler;
  readonly logger?: Logger;
}

export interface ResolvedPlannerConfig {
  readonly instanceId: string;
  readonly advertiseUrl?: string;
  readonly leaseName: string;
  readonly leaseTtlMs: number;
  readonly leaseRenewMs: number;
  readonly eventsGroupId: string;
  readonly resyncAfterMs: number;
  readonly gateRetryMs: number;
  readonly timerTickMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly policy?: Policy;
  readonly followerPollMs: number;
  readonly concurrency: number;
  readonly reconcileIntervalMs: number;
  readonly commandTtlSeconds: number;
  readonly loopLagThresholdMs: number;
  readonly loopLagWindowMs: number;
}

export function resolvePlannerConfig(config: PlannerConfig): ResolvedPlannerConfig {
  return {
    instanceId: config.instanceId ?? `${os.hostname()}-${process.pid}`,
    ...(config.advertiseUrl !== undefined ? { advertiseUrl: config.advertiseUrl } : {}),
    leaseName: config.leaseName ?? 'meshwave-planner',
    leaseTtlMs: config.leaseTtlMs ?? 10_000,
    leaseRenewMs: config.leaseRenewMs ?? 3_000,
    eventsGroupId: config.eventsGroupId ?? 'meshwave-planner',
    resyncAfterMs: config.resyncAfterMs ?? 30_000,
    gateRetryMs: config.gateRetryMs ?? 15_000,
    timerTickMs: config.timerTickMs ?? 250,
    heartbeatTimeoutMs: config.heartbeatTimeoutMs ?? 60_000,
    ...(config.policy !== undefined ? { policy: config.policy } : {}),
    followerPollMs: config.followerPollMs ?? 2_000,
    concurrency: config.concurrency ?? 8,
    reconcileIntervalMs: config.reconcileIntervalMs ?? 250,
    commandTtlSeconds: config.commandTtlSeconds ?? 3_600,
    loopLagThresholdMs: config.loopLagThresholdMs ?? DEFAULT_EVENT_LOOP_DELAY_THRESHOLD_MS,
    loopLagWindowMs: config.loopLagWindowMs ?? 5_000,
  };
}
