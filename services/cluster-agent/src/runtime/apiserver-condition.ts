import { DegradedReason, type HealthReport } from '@meshwave/contracts';
import { systemClock, type Clock, type TimerHandle } from '@meshwave/reconcile';

/**
 * How long the apiserver may answer nothing but network errors and 5xx before the agent says so: long enough to
 * ride out one apiserver restart behind a load balancer, well inside the 10 s after which the agent gives up its
 * lease (and exits, so its pod restarts), so the planner hears why the cluster went quiet before it does.
 */
export const APISERVER_UNREACHABLE_AFTER_MS = 3000;

/**
 * The agent's view of its apiserver, from the outcome of every call it makes: Degraded (`apiserver-unreachable`)
 * once no call has succeeded for `afterMs` while calls kept failing. Any answer below 500 (a 404, a 409) is an
 * apiserver that answers. While Degraded, the planner holds failures this cluster's agent judged on time.
 */
export interface ApiserverCondition {
  /** one call's outcome: the HTTP status, 0 for a network error or timeout */
  record(status: number): void;
  unreachable(): boolean;
  /** the health report's `degraded` field while unreachable */
  report(): Pick<HealthReport, 'degraded'>;
  /** called when the condition changes (unreachable or back); one listener, the agent's reporter */
  onChange(listener: (unreachable: boolean) => void): void;
  stop(): void;
}

export function createApiserverCondition(
  options: { readonly clock?: Clock; readonly afterMs?: number } = {},
): ApiserverCondition {
  const clock = options.clock ?? systemClock;
  const afterMs = options.afterMs ?? APISERVER_UNREACHABLE_AFTER_MS;
  let failingSince: number | undefined;
  let was = false;
  let timer: TimerHandle | undefined;
  let listener: ((unreachable: boolean) => void) | undefined;
  const unreachable = (): boolean => failingSince !== undefined && clock.now() - failingSince >= afterMs;
  const check = (): void => {
    const now = unreachable();
    if (now === was) return;
    was = now;
    listener?.(now);
  };
  return {
    record(status) {
      if (status > 0 && status < 500) {
        failingSince = undefined;
        timer?.cancel();
        timer = undefined;
        check();
        return;
      }
      if (failingSince !== undefined) return;
      failingSince = clock.now();
      // the change is news at the moment it happens, not at the next call (there may be none for a while)
      timer = clock.setTimer(afterMs, check);
    },
    unreachable,
    report() {
      if (!unreachable() || failingSince === undefined) return {};
      return {
        degraded: { reason: DegradedReason.ApiserverUnreachable, unreachableMs: clock.now() - failingSince },
      };
    },
    onChange(l) {
      listener = l;
    },
    stop() {
      timer?.cancel();
      timer = undefined;
    },
  };
}
