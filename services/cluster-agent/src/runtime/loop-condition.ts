import { SourceCondition, type HealthReport } from '@meshwave/contracts';
import type { EventLoopDelay, EventLoopDelayOptions } from './event-loop-delay.js';

/** The agent's own condition from its event-loop delay: Degraded past the threshold. */
export interface LoopCondition {
  readonly thresholdMs: number;
  start(): void;
  stop(): void;
  delayMs(): number;
  lastWindow(): { readonly p99Ms: number; readonly maxMs: number };
  degraded(): boolean;
  /** the health report's condition fields */
  report(): Pick<HealthReport, 'condition' | 'conditionMessage' | 'eventLoopDelaySeconds'>;
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
      const isDegraded = ms > options.thresholdMs;
      return {
        condition: isDegraded ? SourceCondition.Degraded : SourceCondition.Ok,
        ...(isDegraded
          ? {
              conditionMessage: `event loop ${Math.round(ms)}ms behind (threshold ${options.thresholdMs}ms): failure verdicts are held`,
            }
          : {}),
        eventLoopDelaySeconds: ms / 1000,
      };
    },
  };
}
