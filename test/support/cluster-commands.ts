// A planner's command to one cluster, for the tests that drive a cluster-agent over the bus.
import type { OutgoingMessage } from '@meshwave/bus';
import { MessageType, clusterKey, type ClusterDesiredState } from '@meshwave/contracts';

/** A desired state for cluster `c1`, rollout `r1`, moving namespaces from 1-24-5 to 1-25-2, one at a time. */
export function newDesiredState(partial: Partial<ClusterDesiredState> = {}): ClusterDesiredState {
  return {
    rolloutId: 'r1',
    wave: 0,
    generation: 1,
    epoch: 1,
    cluster: 'c1',
    from: '1-24-5',
    to: '1-25-2',
    granularity: 'namespace',
    maxUnavailable: 1,
    halted: false,
    progressDeadlineSeconds: 600,
    units: [],
    ...partial,
  };
}

/** The command on the commands topic, keyed and addressed to the agent of `to` (default: its own cluster). */
export function commandFor(data: ClusterDesiredState, to: string = data.cluster): OutgoingMessage {
  const key = clusterKey(to);
  return { topic: 'commands', key, audience: key, type: MessageType.ClusterDesiredState, data };
}
