import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The planner's Prometheus metrics, on a registry of its own (two planners in one process do not collide). */
export class PlannerMetrics {
  readonly registry = new Registry();
  readonly rolloutsByPhase = new Gauge({
    name: 'meshwave_rollouts',
    help: 'Rollouts by phase',
    labelNames: ['phase'] as const,
    registers: [this.registry],
  });
  readonly eventLoopDelay = new Gauge({
    name: 'meshwave_event_loop_delay_seconds',
    help: 'Event-loop delay of the planner process: p99 over the last window (loopLagWindowMs)',
    registers: [this.registry],
  });
  readonly unitsByRevision = new Gauge({
    name: 'meshwave_units',
    help: 'Workloads per assigned revision per cluster, from inventory (ambient: sidecarless in an ambient namespace)',
    labelNames: ['cluster', 'revision'] as const,
    registers: [this.registry],
  });
  readonly publishSeconds = new Histogram({
    name: 'meshwave_command_publish_seconds',
    help: 'Time to publish one batch of commands',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly gateVerdicts = new Counter({
    name: 'meshwave_gate_verdicts_total',
    help: 'Gate verdicts recorded, by outcome and reason',
    labelNames: ['outcome', 'reason', 'final'] as const,
    registers: [this.registry],
  });
  readonly failureToHaltSeconds = new Histogram({
    name: 'meshwave_failure_to_halt_seconds',
    help: 'From receiving a report with a failed unit to the halt commands being published',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly reconcileSeconds = new Histogram({
    name: 'meshwave_reconcile_seconds',
    help: 'One reconcile of one rollout',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly transitions = new Counter({
    name: 'meshwave_transitions_total',
    help: 'State machine transitions',
    labelNames: ['trigger'] as const,
    registers: [this.registry],
  });
  readonly commandsPublished = new Counter({
    name: 'meshwave_commands_published_total',
    help: 'Commands published',
    labelNames: ['kind', 'resync'] as const,
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: 'meshwave_planner_leader',
    help: '1 while this replica leads',
    registers: [this.registry],
  });
  readonly leaderEpoch = new Gauge({
    name: 'meshwave_planner_leader_epoch',
    help: 'Epoch of the lease this replica holds (0: none)',
    registers: [this.registry],
  });
  readonly commandsRejected = new Counter({
    name: 'meshwave_commands_rejected_total',
    help: 'Commands agents refused, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
