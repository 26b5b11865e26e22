import { Counter, Gauge, Registry } from 'prom-client';
import { UnitState } from '@meshwave/contracts';

/** The event loop's last window, ms, and whether the agent is Degraded by it. */
export interface LoopReading {
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly degraded: boolean;
}

/**
 * The agent's Prometheus metrics, on a registry of its own: the embedded demo runs several agents in one
 * process, and each must be scrapable without mixing their numbers.
 */
export class AgentMetrics {
  readonly registry: Registry;
  private readonly units: Gauge;
  private readonly inFlight: Gauge;
  private readonly apiRequests: Counter;
  private readonly throttled: Counter;
  private readonly commands: Counter;
  private readonly restarts: Counter;
  private readonly loopDelay: Gauge;
  private readonly degraded: Gauge;

  constructor(cluster: string, registry = new Registry()) {
    this.registry = registry;
    registry.setDefaultLabels({ cluster });
    // Computed when scraped, not on every reconcile.
    const read = (): { counts: Readonly<Record<string, number>>; inFlight: number } => this.unitSource();
    this.units = new Gauge({
      name: 'meshwave_agent_units',
      help: 'Assigned units by state',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const { counts } = read();
        for (const state of Object.values(UnitState)) this.set({ state }, counts[state] ?? 0);
      },
    });
    this.inFlight = new Gauge({
      name: 'meshwave_agent_restarts_in_flight',
      help: 'Units restarting now (bounded by maxUnavailable)',
      registers: [registry],
      collect() {
        this.set(read().inFlight);
      },
    });
    this.apiRequests = new Counter({
      name: 'meshwave_agent_kube_api_requests_total',
      help: 'Kubernetes API requests by verb and response code',
      labelNames: ['verb', 'code'],
      registers: [registry],
    });
    this.throttled = new Counter({
      name: 'meshwave_agent_kube_api_throttled_total',
      help: 'Kubernetes API 429 answers',
      registers: [registry],
    });
    this.commands = new Counter({
      name: 'meshwave_agent_commands_total',
      help: 'Commands by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.restarts = new Counter({
      name: 'meshwave_agent_restarts_total',
      help: 'Workload restarts started',
      registers: [registry],
    });
    const loop = (): LoopReading => this.loopSource();
    this.loopDelay = new Gauge({
      name: 'meshwave_event_loop_delay_seconds',
      help: 'Event-loop delay over the last window (quantile 0.99 and 1 = max)',
      labelNames: ['quantile'],
      registers: [registry],
      collect() {
        const { p99Ms, maxMs } = loop();
        this.set({ quantile: '0.99' }, p99Ms / 1000);
        this.set({ quantile: '1' }, maxMs / 1000);
      },
    });
    this.degraded = new Gauge({
      name: 'meshwave_agent_degraded',
      help: '1 while the event-loop delay is past its threshold (failure verdicts held), else 0',
      registers: [registry],
      collect() {
        this.set(loop().degraded ? 1 : 0);
      },
    });
  }

  private loopSource: () => LoopReading = () => ({ p99Ms: 0, maxMs: 0, degraded: false });

  /** where the event-loop gauges read from at scrape time */
  observeEventLoop(source: () => LoopReading): void {
    this.loopSource = source;
  }

  private unitSource: () => { counts: Readonly<Record<string, number>>; inFlight: number } = () => ({
    counts: {},
    inFlight: 0,
  });

  /** where the unit gauges read from at scrape time */
  observeUnits(source: () => { counts: Readonly<Record<string, number>>; inFlight: number }): void {
    this.unitSource = source;
  }

  /** called by the Kubernetes client for every response (status 0: no response) */
  recordApiResponse(verb: string, status: number): void {
    this.apiRequests.inc({ verb, code: String(status) });
    if (status === 429) this.throttled.inc();
  }

  recordCommand(outcome: string): void {
    this.commands.inc({ outcome });
  }

  recordRestart(): void {
    this.restarts.inc();
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
