import {
  CommandRejectionReason,
  MESH_LABEL,
  MessageType,
  fenceCommand,
  meshDiscoverySelectors,
  type MeshSplitCommand,
} from '@meshwave/contracts';
import { HandlerRetryableError, type IncomingMessage } from '@meshwave/bus';
import { withDiscoverySelectors } from '@meshwave/istio';
import type { Logger } from '@meshwave/telemetry';
import type { KubernetesPort } from '../ports/kubernetes-port.js';
import { ClusterAgentError, ClusterAgentErrorCode } from '../errors.js';
import type { MeshConfigPort, MeshConfigRead } from '../ports/mesh-config-port.js';
import type { ClusterCache } from './cluster-cache.js';
import type { EventPublisher } from './event-publisher.js';

export interface MeshSplitIntakeOptions {
  readonly cluster: string;
  /** this agent's bus address, the source of its refusals */
  readonly source: string;
  readonly port: Pick<KubernetesPort, 'patchNamespace'>;
  readonly cache: Pick<ClusterCache, 'namespace' | 'rememberNamespace'>;
  /** absent (the simulated cluster): the namespaces are labelled, the control planes' selectors are not written */
  readonly meshConfig?: MeshConfigPort;
  /** the highest planner epoch the command ledger has seen: a deposed leader's apply is refused like its commands */
  readonly ledgerEpoch: () => number;
  /** a revision's selectors were written: the mesh its control plane serves changed (ADR 0056) */
  readonly onSelectorsWritten?: () => void;
  readonly log: Logger;
  readonly publisher: EventPublisher;
}

const isForbidden = (err: unknown): boolean =>
  err instanceof ClusterAgentError && err.code === ClusterAgentErrorCode.Forbidden;

/** What one convergence did. */
interface Converged {
  relabelled: number;
  unchanged: number;
  /** namespaces the command names that this cluster does not have (never created) */
  absent: number;
  selectorsWritten: string[];
  /** revisions without a mesh-config ConfigMap (control plane not installed): nothing written for them */
  controlPlanesMissing: string[];
  /** revisions whose mesh config this agent may not read (the chart's `meshSplit` is off) */
  controlPlanesForbidden: string[];
}

/**
 * Takes an applied split (ADR 0049) in: fenced by the planner's epoch (with the command ledger's) and ordered by
 * generation, then converged with compare-before-write: each namespace's `meshwave.io/mesh` label, and each
 * revision's `discoverySelectors`. A write that fails (apiserver down, a conflict) fails the handler as retryable,
 * so the bus redelivers it and the convergence runs again; only a converged apply is remembered.
 */
export function createMeshSplitIntake(options: MeshSplitIntakeOptions): {
  handle(message: IncomingMessage): Promise<void>;
} {
  const { cluster, log } = options;
  let held = { epoch: 0, generation: undefined as number | undefined };

  const refuse = async (commandId: string, reason: CommandRejectionReason, detail: string): Promise<void> => {
    log.warn({ reason, detail, commandId, type: MessageType.MeshSplit }, 'command refused');
    const { publish, event } = options.publisher;
    await publish([event(MessageType.CommandRejected, { source: options.source, commandId, reason, detail })]);
  };

  const converge = async (cmd: MeshSplitCommand): Promise<Converged> => {
    const out: Converged = {
      relabelled: 0,
      unchanged: 0,
      absent: 0,
      selectorsWritten: [],
      controlPlanesMissing: [],
      controlPlanesForbidden: [],
    };
    for (const { name, mesh } of cmd.namespaces) {
      const ns = options.cache.namespace(name);
      if (ns === undefined) out.absent++;
      else if (ns.labels[MESH_LABEL] === mesh) out.unchanged++;
      else {
        const labels = { [MESH_LABEL]: mesh };
        const view = await options.port.patchNamespace(name, { labels }, { resourceVersion: ns.resourceVersion });
        options.cache.rememberNamespace(view);
        out.relabelled++;
      }
    }
    for (const { revision, mesh } of cmd.controlPlanes) {
      let read: MeshConfigRead | undefined;
      try {
        read = await options.meshConfig?.readMeshConfig(revision);
      } catch (error) {
        // the chart grants this with `meshSplit` only: a refusal is the operator's choice, not a passing condition
        if (!isForbidden(error)) throw error;
        out.controlPlanesForbidden.push(revision);
        continue;
      }
      if (read === undefined) {
        out.controlPlanesMissing.push(revision);
        continue;
      }
      const next = withDiscoverySelectors(read.text, meshDiscoverySelectors(mesh));
      if (!next.changed) continue;
      await options.meshConfig!.writeMeshConfig(revision, next.text, read.resourceVersion);
      out.selectorsWritten.push(revision);
    }
    return out;
  };

  return {
    async handle(message) {
      if (message.type !== MessageType.MeshSplit) return;
      const cmd = message.data;
      if (cmd.cluster !== cluster)
        return refuse(
          message.id,
          CommandRejectionReason.ForeignCluster,
          `for cluster ${cmd.cluster}, this is ${cluster}`,
        );
      const fence = fenceCommand(
        { epoch: Math.max(held.epoch, options.ledgerEpoch()), generation: held.generation },
        cmd,
      );
      if (fence.verdict === 'rejected') return refuse(message.id, fence.reason, fence.detail);
      if (fence.verdict === 'same') return;
      let done: Converged;
      try {
        done = await converge(cmd);
      } catch (error) {
        const text = error instanceof Error ? error.message : String(error);
        throw new HandlerRetryableError(`the mesh split could not be applied: ${text}`, { cause: error });
      }
      held = { epoch: Math.max(held.epoch, cmd.epoch), generation: cmd.generation };
      log.info({ generation: cmd.generation, epoch: cmd.epoch, ...done }, 'mesh split applied');
      if (done.selectorsWritten.length > 0) options.onSelectorsWritten?.();
    },
  };
}
