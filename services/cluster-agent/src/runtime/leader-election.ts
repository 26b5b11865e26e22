import { systemClock, type Clock, type TimerHandle } from '@meshwave/reconcile';
import { ClusterAgentError, ClusterAgentErrorCode } from '../errors.js';
import type { KubernetesPort, LeaseView } from '../ports/kubernetes-port.js';

export interface LeaderElectionOptions {
  readonly port: KubernetesPort;
  readonly namespace: string;
  /** the Lease's name, e.g. `meshwave-cluster-agent` */
  readonly name: string;
  /** this replica's identity (pod name) */
  readonly identity: string;
  readonly clock?: Clock;
  /** a lease not renewed for this long may be taken over (default 15 s) */
  readonly leaseDurationSeconds?: number;
  /** how often to try to acquire or renew (default 2 s) */
  readonly retryPeriodMs?: number;
  /** a leader that could not renew for this long steps down (default 10 s, below the lease duration) */
  readonly renewDeadlineMs?: number;
  /** `epoch` grows with every change of leader (lease transitions + 1): the agent's fencing token */
  readonly onStartedLeading: (epoch: number) => void;
  readonly onStoppedLeading: () => void;
}

export interface LeaderElection {
  isLeader(): boolean;
  /** stops trying; a leader releases the lease so another replica takes over at once */
  stop(): Promise<void>;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
const microTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/**
 * Leader election on a coordination.k8s.io Lease, as client-go's leaderelection does it: expiry is judged by
 * when *this* replica last saw the lease change, never by comparing another node's clock with ours.
 */
export function startLeaderElection(options: LeaderElectionOptions): LeaderElection {
  const clock = options.clock ?? systemClock;
  const duration = options.leaseDurationSeconds ?? 15;
  const retry = options.retryPeriodMs ?? 2_000;
  const renewDeadline = options.renewDeadlineMs ?? 10_000;
  const { port, namespace, name, identity } = options;
  let leading = false;
  let stopped = false;
  let lastRenew = 0;
  let observed: { resourceVersion: string; at: number } | undefined;
  let timer: TimerHandle | undefined;
  let current: LeaseView | undefined;

  const tryAcquireOrRenew = async (): Promise<boolean> => {
    const now = clock.now();
    const lease = await port.getLease(namespace, name);
    if (!lease) {
      current = await port.createLease({
        namespace,
        name,
        holderIdentity: identity,
        leaseDurationSeconds: duration,
        acquireTime: microTime(now),
        renewTime: microTime(now),
        leaseTransitions: 0,
      });
      return true;
    }
    if (!observed || observed.resourceVersion !== lease.resourceVersion)
      observed = { resourceVersion: lease.resourceVersion, at: now };
    const mine = lease.holderIdentity === identity;
    const expired = lease.holderIdentity === '' || now - observed.at > lease.leaseDurationSeconds * 1000;
    if (!mine && !expired) return false;
    current = await port.replaceLease({
      ...lease,
      holderIdentity: identity,
      leaseDurationSeconds: duration,
      renewTime: microTime(now),
      ...(mine ? {} : { acquireTime: microTime(now), leaseTransitions: lease.leaseTransitions + 1 }),
    });
    observed = { resourceVersion: current.resourceVersion, at: now };
    return true;
  };

  const tick = async (): Promise<void> => {
    if (stopped) return;
    let ok = false;
    try {
      ok = await tryAcquireOrRenew();
    } catch (err) {
      if (!(err instanceof ClusterAgentError && err.code === ClusterAgentErrorCode.Conflict)) ok = false;
    }
    const now = clock.now();
    if (ok) {
      lastRenew = now;
      if (!leading) {
        leading = true;
        options.onStartedLeading((current?.leaseTransitions ?? 0) + 1);
      }
    } else if (leading && now - lastRenew > renewDeadline) {
      leading = false;
      options.onStoppedLeading();
    }
    if (!stopped) timer = clock.setTimer(retry, () => void tick());
  };
  void tick();

  return {
    isLeader: () => leading,
    async stop() {
      stopped = true;
      timer?.cancel();
      if (leading && current) {
        leading = false;
        try {
          await port.replaceLease({ ...current, holderIdentity: '', renewTime: microTime(clock.now()) });
        } catch {
          // Not released: the next leader waits out the lease duration instead.
        }
        options.onStoppedLeading();
      }
    },
  };
}
