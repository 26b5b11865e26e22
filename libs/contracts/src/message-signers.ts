import { clusterKey, MessageType, type MessageData } from './messages.js';

/**
 * Who may sign each message type (ADR 0038). With Ed25519 every public key is bound to a principal: `planner`,
 * `cluster/<name>` (one key set per cluster-agent) or `vm-bridge`. A consumer accepts a message only when the
 * key that verified it belongs to the principal its data speaks for: commands come from the planner, a cluster's
 * progress, inventory and health from that cluster's own agent. Without this a stolen agent key could report
 * for every cluster.
 */
export const Principal = { Planner: 'planner', VmBridge: 'vm-bridge' } as const;

/**
 * The principal whose key must sign this message. Every type is listed (the `never` check makes a new one a
 * compile error): a type left out would be accepted from any trusted key, so a cluster's key could speak for
 * another cluster.
 */
export function requiredSigner<T extends MessageType>(type: T, data: MessageData<T>): string {
  const t: MessageType = type;
  switch (t) {
    case MessageType.ClusterDesiredState:
    case MessageType.VmGroupDesiredState:
    case MessageType.Halt:
    case MessageType.InventoryResync:
    case MessageType.MeshSplit:
      return Principal.Planner;
    case MessageType.UnitProgress:
    case MessageType.UnitProgressDelta:
    case MessageType.Inventory:
    case MessageType.InventoryDelta:
      return clusterKey((data as MessageData<typeof MessageType.Inventory>).cluster);
    case MessageType.VmProgress:
    case MessageType.VmProgressDelta:
    case MessageType.VmInventory:
      return Principal.VmBridge;
    case MessageType.Health:
    case MessageType.HealthDelta:
    case MessageType.CommandRejected:
      return reporterOf((data as MessageData<typeof MessageType.Health>).source);
    case MessageType.Heartbeat: {
      // the planner's replicas send heartbeats too (`planner/<instance>`)
      const source = (data as MessageData<typeof MessageType.Heartbeat>).source;
      return covers(Principal.Planner, source) ? Principal.Planner : reporterOf(source);
    }
    default: {
      const unhandled: never = t;
      throw new Error(`no signer rule for message type ${String(unhandled)}`);
    }
  }
}

/**
 * The planner files an agent's report under the last segment of its `source` (`c1`, `cluster/c1`): the same
 * reading decides whose key must sign it; the vm-bridge's (`vm-bridge/<group>`) are the vm-bridge's.
 */
const reporterOf = (source: string): string =>
  covers(Principal.VmBridge, source) ? Principal.VmBridge : clusterKey(source.split('/').at(-1) ?? source);

/** A principal covers itself and every name under it: `planner` covers `planner/replica-0`. */
export const covers = (principal: string, name: string): boolean =>
  name === principal || name.startsWith(`${principal}/`);
