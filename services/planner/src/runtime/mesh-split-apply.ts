import {
  MeshApplyRequest,
  MessageType,
  Topic,
  clusterKey,
  type MeshApplyResult,
  type MeshSplitCommand,
} from '@meshwave/contracts';
import type { OutgoingMessage } from '@meshwave/bus';
import { meshSplitDiff } from '../core/mesh-split-diff.js';
import type { FleetInventory } from './fleet-inventory.js';
import type { Leadership } from './leadership.js';
import { nowOf, type PlannerContext } from './planner-context.js';
import { FLEET_SCOPE } from './store-layout.js';

/**
 * Applies a split (`POST /v1/meshes/apply`, ADR 0049), on the leader. A dry run (the default) answers what would
 * change per cluster, from the inventory the agents report. Otherwise each cluster concerned gets a command, fenced
 * by the leader's epoch and ordered by its generation (the apply's time), which its agent converges: the
 * namespaces' `meshwave.io/mesh` labels and each mesh revision's `discoverySelectors`. The apply is audited with
 * who, why and what it changes; the agents' refusals and results come back as for any command.
 */
export class MeshSplitApply {
  constructor(
    private readonly context: PlannerContext,
    private readonly ports: {
      readonly leadership: Pick<Leadership, 'requireLeader'>;
      readonly inventory: Pick<FleetInventory, 'stored'>;
    },
  ) {}

  async apply(input: MeshApplyRequest, actor: string): Promise<MeshApplyResult> {
    const lease = this.ports.leadership.requireLeader();
    const request = MeshApplyRequest.parse(input);
    const { inventory } = await this.ports.inventory.stored();
    const clusters = meshSplitDiff(request, inventory);
    if (request.dryRun) return { dryRun: true, clusters: clusters.map((c) => c.changes) };
    const now = nowOf(this.context);
    const generation = now.getTime();
    const { config } = this.context;
    const messages: OutgoingMessage[] = clusters.map(({ changes, namespaces }) => {
      const data: MeshSplitCommand = {
        cluster: changes.cluster,
        generation,
        epoch: lease.epoch,
        namespaces,
        controlPlanes: changes.controlPlanes,
      };
      const key = clusterKey(changes.cluster);
      return {
        topic: Topic.Commands,
        key,
        audience: key,
        type: MessageType.MeshSplit,
        data,
        ttlSeconds: config.commandTtlSeconds,
      } as OutgoingMessage;
    });
    // audited first: an apply that reached agents is always on record (one that failed to publish is too, saying so)
    const changed = clusters.reduce((n, c) => n + c.changes.namespaces.length, 0);
    await this.context.store.appendAudit({
      actor,
      action: 'apply-mesh-split',
      scope: FLEET_SCOPE,
      ...(request.reason !== undefined ? { reason: request.reason } : {}),
      at: now.toISOString(),
      detail: {
        generation,
        meshes: request.meshes.map((m) => ({ mesh: m.mesh, revision: m.revision, namespaces: m.namespaces.length })),
        clusters: clusters.map((c) => c.changes.cluster),
        namespacesRelabelled: changed,
      },
    });
    if (messages.length > 0) await this.context.bus.publish(messages);
    this.context.logger.warn(
      { actor, generation, clusters: messages.length, namespaces: changed },
      'mesh split applied',
    );
    return { dryRun: false, clusters: clusters.map((c) => c.changes), generation };
  }
}
