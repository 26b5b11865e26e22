import { UpgradeMethod, parseIstioVersion, upgradePathVerdict } from '@meshwave/plan';
import type { IstioInstallation } from '../ports/kubernetes-port.js';

/**
 * The agent's live re-check of a tag move's upgrade path (ADR 0046), just before it points `tag` at `revision`:
 * the plan judged the path from the revision the tag pointed to then, but the tag may have been moved by hand since.
 * Istio's rules (libs/plan's `upgradePathVerdict`) are applied to the versions of the control planes the tag points
 * at now and the unit's revision. Why the move is refused, or undefined: allowed by the rollout, the tag already
 * there, or a version unknown (the plan said so, CONTROL_PLANE_UNKNOWN; the agent has nothing better to judge on).
 */
export function tagMovePathRefusal(
  installation: Pick<IstioInstallation, 'controlPlanes' | 'tags'> | undefined,
  tag: string,
  revision: string,
  allowUnsupported: boolean,
): string | undefined {
  if (allowUnsupported || installation === undefined) return undefined;
  const current = installation.tags[tag];
  if (current === undefined || current === revision) return undefined;
  const versionOf = (rev: string): string | null | undefined =>
    installation.controlPlanes.find((p) => p.revision === rev)?.version;
  const from = parseIstioVersion(versionOf(current));
  const to = parseIstioVersion(versionOf(revision));
  if (from === undefined || to === undefined) return undefined;
  const verdict = upgradePathVerdict(from, to, UpgradeMethod.Revision);
  return verdict.supported ? undefined : `moving tag ${tag} from ${current} to ${revision}: ${verdict.why}`;
}
