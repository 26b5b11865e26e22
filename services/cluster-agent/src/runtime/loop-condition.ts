import { DegradedReason, type HealthReport } from '@meshwave/contracts';
import type { EventLoopDelay, EventLoopDelayOptions } from '@meshwave/telemetry';

/** The agent's own condition: Degraded while its event loop lags past its threshold (its verdicts are held). */
export const SourceCondition = { Ok: 'ok', Degraded: 'degraded' } as const;
export type SourceCondition = (typeof SourceCondition)[keyof typeof SourceCondition];

/** The agent's own condition from its event-loop delay: Degraded past the threshold. */
export interface LoopCondition {
  readonly thresholdMs: number;
  start(): void;
  stop(): void;
  delayMs(): number;
  lastWindow(): { readonly p99Ms: number; readonly maxMs: number };
  degraded(): boolean;
  /** the health report's `degraded` field: present while the loop lags past the threshold */
  report(): Pick<HealthReport, 'degraded'>;
}

export interface LoopConditionOptions {
  readonly thresholdMs: number;
  /** a delay source given from outside (tests); else `start` makes one */
  readonly delay?: EventLoopDelay;
  readonly start: (options: EventLoopDelayOptions) => EventLoopDelay;
  readonly onChange: (condition: SourceCondition) => void;
}

export function createLoopCondition(options: LoopConditionOptions): LoopCondition {
  let delay = options.delay;
  let owned: EventLoopDelay | undefined;
  let was: SourceCondition = SourceCondition.Ok;
  const delayMs = (): number => delay?.delayMs() ?? 0;
  const degraded = (): boolean => delayMs() > options.thresholdMs;
  const check = (): void => {
    const now = degraded() ? SourceCondition.Degraded : SourceCondition.Ok;
    if (now === was) return;
    was = now;
    options.onChange(now);
  };
  return {
    thresholdMs: options.thresholdMs,
    start() {
      if (delay) return;
      delay = owned = options.start({ onWindow: check });
    },
    stop() {
      owned?.stop();
      if (owned) delay = owned = undefined;
    },
    delayMs,
    lastWindow: () => delay?.lastWindow() ?? { p99Ms: 0, maxMs: 0 },
    degraded,
    report() {
      const ms = delayMs();
      return ms > options.thresholdMs ? { degraded: { reason: DegradedReason.EventLoopLag, lagMs: ms } } : {};
    },
  };
}
