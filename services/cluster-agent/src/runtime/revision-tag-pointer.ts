import { UnitWaitReason, type GatewayPin } from '@meshwave/contracts';
import type { Clock } from '@meshwave/reconcile';
import type { Logger } from '@meshwave/telemetry';
import { tagMovePathRefusal } from '../core/tag-move-path.js';
import type { GatewayDeploymentPort } from '../ports/gateway-port.js';
import type { IstioInstallation, KubernetesPort } from '../ports/kubernetes-port.js';

/** Why a unit of a tag move waits instead of restarting: the tag cannot be pointed, or may not be (its path). */
export interface TagPointRefusal {
  readonly reason: typeof UnitWaitReason.RevisionTagMissing | typeof UnitWaitReason.UnsupportedUpgradePath;
  readonly message: string;
}

/**
 * A tag move's one cluster-wide write (ADR 0035): before a unit labelled with a revision tag restarts, the tag is
 * pointed at the unit's revision, so the restart's pods are injected by it. Before it writes, the move's upgrade path
 * is judged again on the installation as it is now (ADR 0046): a tag moved by hand since the plan is not carried
 * further than Istio supports. The write compares before it writes (two gets); a tag found pointed is trusted for
 * `okForMs` so a wave of units does not read it once each.
 */
export interface RevisionTagPointer {
  /**
   * points `tag` at `revision`; why it could not or may not, else undefined. Before it moves the tag, each of `pins`
   * still labelled with the tag is pinned to the revision the tag names now (ADR 0056); once the tag names
   * `revision`, each of `pins` pinned from this tag to that very revision is labelled with the tag again (ADR 0058).
   */
  point(
    tag: string,
    revision: string,
    allowUnsupported: boolean,
    pins?: readonly GatewayPin[],
  ): Promise<TagPointRefusal | undefined>;
  /** istio-system or one of Istio's webhooks changed: read again at the next ask */
  forget(): void;
}

export function createRevisionTagPointer(options: {
  readonly port: Pick<KubernetesPort, 'pointRevisionTag'>;
  /** the Gateways pinned before a tag move; undefined: an agent without gateway writes pins nothing */
  readonly gateways?: Pick<GatewayDeploymentPort, 'readGateway' | 'setGatewayRevision'>;
  /** the control planes and tags as they are now (the port's two list calls) */
  readonly read: () => Promise<IstioInstallation | undefined>;
  readonly clock: Clock;
  readonly okForMs: number;
  readonly log: Logger;
}): RevisionTagPointer {
  const pointedUntil = new Map<string, number>();
  return {
    async point(tag, revision, allowUnsupported, pins = []) {
      const key = `${tag}\u0000${revision}`;
      if ((pointedUntil.get(key) ?? -Infinity) > options.clock.now()) return undefined;
      // one tag points one way: an earlier answer for another revision no longer holds
      for (const k of pointedUntil.keys()) if (k.startsWith(`${tag}\u0000`)) pointedUntil.delete(k);
      const installation = await options.read();
      const refused = tagMovePathRefusal(installation, tag, revision, allowUnsupported);
      if (refused !== undefined) return { reason: UnitWaitReason.UnsupportedUpgradePath, message: refused };
      const current = installation?.tags[tag];
      if (current !== undefined && current !== revision && options.gateways !== undefined)
        await pinGateways(options.gateways, pins, tag, current, options.log);
      const write = await options.port.pointRevisionTag(tag, revision);
      if (write.outcome === 'missing') return { reason: UnitWaitReason.RevisionTagMissing, message: write.detail };
      if (write.outcome === 'updated') options.log.info({ tag, revision }, 'revision tag moved');
      if (options.gateways !== undefined) await unpinGateways(options.gateways, pins, tag, revision, options.log);
      pointedUntil.set(key, options.clock.now() + options.okForMs);
      return undefined;
    },
    forget: () => pointedUntil.clear(),
  };
}

/**
 * Pins each Gateway still labelled with `tag` to `revision`, the one the tag names before it moves (ADR 0056):
 * istiod renders a Gateway's Deployment for the revision its label resolves to, so a Gateway following the tag would
 * restart the moment the tag moves (istio/istio#59959); pinned, it stays where it is until its own step moves it. The
 * pin writes the annotation the step reads to label it with the tag again. A failed write fails the point (retried).
 */
async function pinGateways(
  gateways: Pick<GatewayDeploymentPort, 'readGateway' | 'setGatewayRevision'>,
  pins: readonly GatewayPin[],
  tag: string,
  revision: string,
  log: Logger,
): Promise<void> {
  for (const { namespace, gatewayName } of pins) {
    const gateway = await gateways.readGateway(namespace, gatewayName);
    if (gateway?.revision !== tag) continue;
    await gateways.setGatewayRevision(namespace, gatewayName, revision, tag);
    log.info({ namespace, gateway: gatewayName, tag, revision }, 'Gateway pinned before its tag moves');
  }
}

/**
 * Labels each Gateway pinned from `tag` to `revision` with the tag again, now that the tag names `revision` (a
 * failback moved it back, ADR 0058): the revision the Gateway resolves to does not change, so istiod restarts
 * nothing. The label and the removal of the pin annotation are one merge patch; a Gateway pinned to another revision,
 * relabelled by hand or never pinned is left alone. Run at every point of the tag, so an agent killed between the
 * tag's write and this one finishes it at its next point.
 */
async function unpinGateways(
  gateways: Pick<GatewayDeploymentPort, 'readGateway' | 'setGatewayRevision'>,
  pins: readonly GatewayPin[],
  tag: string,
  revision: string,
  log: Logger,
): Promise<void> {
  for (const { namespace, gatewayName } of pins) {
    const gateway = await gateways.readGateway(namespace, gatewayName);
    if (gateway?.pinnedTag !== tag || gateway.revision !== revision) continue;
    await gateways.setGatewayRevision(namespace, gatewayName, tag, null);
    log.info({ namespace, gateway: gatewayName, tag, revision }, 'Gateway follows its tag again');
  }
}
