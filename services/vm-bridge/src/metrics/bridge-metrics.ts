import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The bridge's Prometheus metrics, in their own registry (several bridges can live in one process). */
export interface BridgeMetrics {
  readonly registry: Registry;
  readonly hosts: Gauge<'group' | 'state'>;
  readonly unavailable: Gauge<'group'>;
  readonly halted: Gauge<'group'>;
  readonly batches: Counter<'group' | 'outcome'>;
  readonly batchSeconds: Histogram<'group' | 'outcome'>;
  readonly reports: Counter<'group'>;
  readonly commands: Counter<'type' | 'result'>;
  readonly longPolls: Gauge;
  readonly eventLoopDelay: Gauge;
}

export function createBridgeMetrics(registry = new Registry()): BridgeMetrics {
  return {
    registry,
    eventLoopDelay: new Gauge({
      name: 'meshwave_event_loop_delay_seconds',
      help: "p99 of the bridge's event-loop delay over the last window; past the threshold it is Degraded",
      registers: [registry],
    }),
    hosts: new Gauge({
      name: 'meshwave_vm_hosts',
      help: 'VM hosts by group and state',
      labelNames: ['group', 'state'],
      registers: [registry],
    }),
    unavailable: new Gauge({
      name: 'meshwave_vm_hosts_unavailable',
      help: 'VM hosts upgrading, unhealthy or silent, per group',
      labelNames: ['group'],
      registers: [registry],
    }),
    halted: new Gauge({
      name: 'meshwave_vm_group_halted',
      help: '1 when the group is halted',
      labelNames: ['group'],
      registers: [registry],
    }),
    batches: new Counter({
      name: 'meshwave_vm_batches_total',
      help: 'VM batches by outcome (started, succeeded, failed)',
      labelNames: ['group', 'outcome'],
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: 'meshwave_vm_batch_duration_seconds',
      help: 'time from a batch start to its success or failure',
      labelNames: ['group', 'outcome'],
      buckets: [1, 2, 5, 10, 30, 60, 120, 300, 600],
      registers: [registry],
    }),
    reports: new Counter({
      name: 'meshwave_vm_host_reports_total',
      help: 'host reports received',
      labelNames: ['group'],
      registers: [registry],
    }),
    commands: new Counter({
      name: 'meshwave_vm_commands_total',
      help: 'commands received by type and result (applied, duplicate, rejected)',
      labelNames: ['type', 'result'],
      registers: [registry],
    }),
    longPolls: new Gauge({
      name: 'meshwave_vm_long_polls',
      help: 'desired-version long polls waiting',
      registers: [registry],
    }),
  };
}
