import type { AmbientInventory, NodeAgentKind } from '@meshwave/contracts';
import { ambientInventory, nodeAgentDaemonSets } from '../core/ambient-inventory.js';
import type { AmbientPort, NodePodView } from '../ports/ambient-port.js';

/**
 * Reads what the inventory says of ambient mode (ADR 0051): one list of nodes, one of DaemonSets, one of pods per
 * node agent and one of waypoints. Read with the control planes (at start, when the planner asks for the whole
 * inventory, and whenever those are read again), not watched: nodes change their node agents only when meshwave
 * or an operator moves them.
 */
export async function readAmbient(port: AmbientPort): Promise<AmbientInventory> {
  const [nodes, daemonSets, waypoints] = await Promise.all([
    port.listNodes(),
    port.listDaemonSets(),
    port.listWaypoints(),
  ]);
  const agents = nodeAgentDaemonSets(daemonSets);
  const agentPods = new Map<NodeAgentKind, NodePodView[]>();
  for (const { kind, daemonSet: d } of agents) {
    const pods = await port.podsLabelled(d.namespace, d.selector);
    agentPods.set(kind, [...(agentPods.get(kind) ?? []), ...pods]);
  }
  return ambientInventory({ nodes, agents, agentPods, waypoints });
}
