import { GatewayKind, type GatewayStepCommand, type GatewayStepProgress } from '@meshwave/contracts';
import type { Clock, TimerHandle } from '@meshwave/reconcile';
import type { Logger } from '@meshwave/telemetry';
import type { CommandLedger } from '../core/command-ledger.js';
import { ClusterAgentError } from '../errors.js';
import { reconcileGatewayStep, type GatewayCanaryPort } from './gateway-canary.js';
import { reconcileGatewayApiStep } from './gateway-api-canary.js';

/**
 * Runs the gateway steps the ledger's desired states name (ADR 0047): a pass per unfinished step every
 * `intervalMs`, at most one write each, none while its rollout is halted. Each step's state is kept per rollout
 * for the progress reports; a step not converged within its progress deadline fails with what it waited for.
 */
export interface GatewayStepper {
  /** the ledger changed: steps it no longer names are dropped, new ones start */
  sync(ledger: CommandLedger): void;
  /** the state of the rollout's gateway steps, for its progress report; undefined when it names none */
  progressOf(rolloutId: string): GatewayStepProgress[] | undefined;
  stop(): void;
}

export interface GatewayStepperOptions {
  /** undefined: this agent was not given the gateway writes; every step fails saying so */
  readonly port: GatewayCanaryPort | undefined;
  readonly clock: Clock;
  readonly log: Logger;
  readonly intervalMs: number;
  /** a step's progress deadline when its rollout's command states none */
  readonly progressDeadlineSeconds: number;
  /** a step's state changed: its rollout's progress is due */
  readonly onProgress: (rolloutId: string) => void;
}

interface Tracked {
  readonly rolloutId: string;
  readonly command: GatewayStepCommand;
  /** the rollout's `from`: where a Gateway API gateway goes back at 0% */
  readonly from: string;
  readonly startedAt: number;
  readonly deadlineMs: number;
  progress: GatewayStepProgress;
}

const keyOf = (rolloutId: string, c: GatewayStepCommand): string =>
  `${rolloutId}/${c.namespace}/${c.name}/${c.revision}/${c.percent}/${c.removeOld}/${c.kind ?? GatewayKind.Injected}`;

/** One pass of a step: a Gateway API gateway's moves its Gateway's revision, an injected one's the canary copy. */
const passOf = (port: GatewayCanaryPort, t: Tracked): ReturnType<typeof reconcileGatewayApiStep> =>
  t.command.kind === GatewayKind.GatewayApi
    ? reconcileGatewayApiStep(port, t.command, t.from)
    : reconcileGatewayStep(port, { ...t.command });

export function createGatewayStepper(options: GatewayStepperOptions): GatewayStepper {
  const { clock, log } = options;
  const steps = new Map<string, Tracked>();
  const halted = new Set<string>();
  let timer: TimerHandle | undefined;
  let passing = false;
  let stopped = false;

  const update = (t: Tracked, next: Omit<GatewayStepProgress, 'namespace' | 'name' | 'percent'>): void => {
    const progress = { namespace: t.command.namespace, name: t.command.name, percent: t.command.percent, ...next };
    if (JSON.stringify(progress) === JSON.stringify(t.progress)) return;
    t.progress = progress;
    if (next.state === 'failed') log.warn({ rolloutId: t.rolloutId, gateway: progress }, 'gateway step failed');
    options.onProgress(t.rolloutId);
  };

  const pass = async (t: Tracked): Promise<void> => {
    if (options.port === undefined)
      return update(t, { state: 'failed', reason: 'this agent is not allowed to move gateways (gatewayCanary)' });
    try {
      const action = await passOf(options.port, t);
      if (action.kind === 'converged') update(t, { state: 'converged' });
      else if (action.kind === 'failed') update(t, { state: 'failed', reason: action.reason });
      else if (action.kind === 'wait' && clock.now() - t.startedAt > t.deadlineMs)
        update(t, { state: 'failed', reason: `not converged in ${t.deadlineMs / 1000}s: ${action.reason}` });
      else update(t, { state: 'restarting', ...(action.kind === 'wait' ? { reason: action.reason } : {}) });
    } catch (error) {
      // an outage or a conflict is retried at the next pass (saying why meanwhile) until the deadline; a refusal
      // that no retry can change (RBAC without `gatewayCanary`, an invalid object) fails the step at once
      const reason = error instanceof Error ? error.message : String(error);
      const final =
        (error instanceof ClusterAgentError && !error.retryable) || clock.now() - t.startedAt > t.deadlineMs;
      update(t, { state: final ? 'failed' : 'restarting', reason });
    }
  };

  const tick = async (): Promise<void> => {
    timer = undefined;
    if (stopped || passing) return;
    passing = true;
    try {
      const open = [...steps.values()].filter(
        (t) => !halted.has(t.rolloutId) && t.progress.state !== 'converged' && t.progress.state !== 'failed',
      );
      // a step dropped (a failback's 0% replaced it) or halted during this tick is not passed (ADR 0058)
      for (const t of open)
        if (steps.get(keyOf(t.rolloutId, t.command)) === t && !halted.has(t.rolloutId)) await pass(t);
    } finally {
      passing = false;
      schedule();
    }
  };

  const schedule = (ms = options.intervalMs): void => {
    if (stopped || timer !== undefined) return;
    if ([...steps.values()].every((t) => t.progress.state === 'converged' || t.progress.state === 'failed')) return;
    timer = clock.setTimer(ms, () => void tick());
  };

  return {
    sync(ledger) {
      const wanted = new Set<string>();
      halted.clear();
      for (const [rolloutId, entry] of Object.entries(ledger.rollouts)) {
        const desired = entry.desired;
        if (desired.halted || entry.haltGeneration !== undefined) halted.add(rolloutId);
        const deadlineMs = (desired.progressDeadlineSeconds ?? options.progressDeadlineSeconds) * 1000;
        for (const command of desired.gateways ?? []) {
          const key = keyOf(rolloutId, command);
          wanted.add(key);
          if (steps.has(key)) continue;
          const progress: GatewayStepProgress = {
            namespace: command.namespace,
            name: command.name,
            percent: command.percent,
            state: 'pending',
          };
          steps.set(key, { rolloutId, command, from: desired.from, startedAt: clock.now(), deadlineMs, progress });
          options.onProgress(rolloutId);
        }
      }
      for (const [key, t] of steps) {
        if (wanted.has(key)) continue;
        steps.delete(key);
        options.onProgress(t.rolloutId);
      }
      timer?.cancel();
      timer = undefined;
      schedule(0);
    },
    progressOf(rolloutId) {
      const mine = [...steps.values()].filter((t) => t.rolloutId === rolloutId).map((t) => t.progress);
      return mine.length > 0 ? mine : undefined;
    },
    stop() {
      stopped = true;
      timer?.cancel();
    },
  };
}
