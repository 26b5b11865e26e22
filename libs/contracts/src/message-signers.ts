import { clusterKey, MessageType, type MessageData } from './messages.js';

/**
 * Who may sign each message type (ADR 0038). With Ed25519 every public key is bound to a principal: `planner`,
 * `cluster/<name>` (one key set per cluster-agent) or `vm-bridge`. A consumer accepts a message only when the
 * key that verified it belongs to the principal its data speaks for: commands come from the planner, a cluster's
 * progress, inventory and health from that cluster's own agent. Without this a stolen agent key could report
 * for every cluster.
 */
export const Principal = { Planner: 'planner', VmBridge: 'vm-bridge' } as const;

/** The principal whose key must sign this message; undefined: any trusted key of the message's `source`. */
export function requiredSigner<T extends MessageType>(type: T, data: MessageData<T>): string | undefined {
  switch (type) {
    case MessageType.ClusterDesiredState:
    case MessageType.VmGroupDesiredState:
    case MessageType.Halt:
      return Principal.Planner;
    case MessageType.UnitProgress:
    case MessageType.Inventory:
      return clusterKey((data as MessageData<typeof MessageType.Inventory>).cluster);
    case MessageType.VmProgress:
      return Principal.VmBridge;
    case MessageType.Health: {
      // The planner files a health report under the last segment of its `source` (`c1`, `cluster/c1`): the same
      // reading decides whose key must sign it.
      const source = (data as MessageData<typeof MessageType.Health>).source;
      return covers(Principal.VmBridge, source) ? Principal.VmBridge : clusterKey(source.split('/').at(-1) ?? source);
    }
    default:
      return undefined;
  }
}

/** A principal covers itself and every name under it: `planner` covers `planner/replica-0`. */
export const covers = (principal: string, name: string): boolean =>
  name === principal || name.startsWith(`${principal}/`);
