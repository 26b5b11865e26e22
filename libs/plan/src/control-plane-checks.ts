import {
  PlanProblemCode,
  resolveRevision,
  type ControlPlane,
  type InventoryCluster,
  type PlanProblem,
  type RolloutSpec,
} from '@meshwave/contracts';
import { UpgradeMethod, parseIstioVersion, upgradePathVerdict } from './upgrade-rules.js';

/** How many clusters one problem names before it says how many more there are. */
const CLUSTERS_NAMED = 20;

const named = (names: readonly string[]): string =>
  names.slice(0, CLUSTERS_NAMED).join(', ') +
  (names.length > CLUSTERS_NAMED ? ` and ${names.length - CLUSTERS_NAMED} more` : '');

/**
 * Istio's rules on the clusters a plan moves units in (ADR 0028): the `to` revision's control plane installed
 * and ready (else CONTROL_PLANE_MISSING), and the change from `from`'s version to `to`'s one a supported
 * revision-based upgrade path (else UNSUPPORTED_UPGRADE_PATH, unless the spec allows it with a reason). A tag move
 * (`spec.tag`) is held to the same path from the revision the tag points to now in the cluster (ADR 0042). Versions
 * come from each cluster's control planes; where one is unknown, or a cluster reports no control planes (an
 * inventory or agent from before them), the plan says so (CONTROL_PLANE_UNKNOWN) without refusing.
 */
export function controlPlaneProblems(body: RolloutSpec['spec'], clusters: readonly InventoryCluster[]): PlanProblem[] {
  const problems: PlanProblem[] = [];
  const unreported: string[] = [];
  for (const c of clusters) {
    if (c.controlPlanes === undefined) {
      unreported.push(c.name);
      continue;
    }
    const find = (revision: string): ControlPlane | undefined => {
      const resolved = resolveRevision(c.tags, revision);
      return c.controlPlanes!.find((p) => p.revision === resolved);
    };
    const to = find(body.to);
    if (to === undefined || !to.ready) {
      const installed = c.controlPlanes.map((p) => p.revision).join(', ') || 'none';
      problems.push({
        code: PlanProblemCode.ControlPlaneMissing,
        message:
          to === undefined
            ? `revision ${body.to} is not installed in cluster ${c.name} (control planes: ${installed})`
            : `the control plane of revision ${body.to} is not ready in cluster ${c.name}`,
        cluster: c.name,
        blocking: true,
        refusal: true,
      });
      continue;
    }
    // where the data plane comes from: the revision the tag points to now, for a tag move; `from` otherwise
    const source = body.tag === undefined ? body.from : (resolveRevision(c.tags, body.tag) ?? body.tag);
    const from = find(source);
    const fromVersion = parseIstioVersion(from?.version);
    const toVersion = parseIstioVersion(to.version);
    if (fromVersion === undefined || toVersion === undefined) {
      const unknown = [
        ...(fromVersion === undefined
          ? [`${source} (${from === undefined ? 'not installed' : `version ${String(from.version)}`})`]
          : []),
        ...(toVersion === undefined ? [`${body.to} (version ${String(to.version)})`] : []),
      ];
      problems.push({
        code: PlanProblemCode.ControlPlaneUnknown,
        message: `cluster ${c.name}: the version of ${unknown.join(' and ')} is unknown, so the upgrade path is not checked`,
        cluster: c.name,
        blocking: false,
      });
      continue;
    }
    const verdict = upgradePathVerdict(fromVersion, toVersion, UpgradeMethod.Revision);
    if (verdict.supported) continue;
    const allowed = body.allowUnsupportedUpgradePath;
    const move =
      body.tag === undefined ? `${source} → ${body.to}` : `moving tag ${body.tag} from ${source} to ${body.to}`;
    problems.push({
      code: PlanProblemCode.UnsupportedUpgradePath,
      message: `cluster ${c.name}: ${move}: ${verdict.why}${allowed ? `; allowed by spec.allowUnsupportedUpgradePath: ${allowed.reason}` : ''}`,
      cluster: c.name,
      blocking: allowed === undefined,
      ...(allowed === undefined ? { refusal: true } : {}),
    });
  }
  if (unreported.length > 0)
    problems.push({
      code: PlanProblemCode.ControlPlaneUnknown,
      message: `cluster${unreported.length === 1 ? '' : 's'} ${named(unreported)} report${unreported.length === 1 ? 's' : ''} no control planes: whether ${body.to} is installed and ready, and the upgrade path, are not checked there`,
      blocking: false,
    });
  return problems;
}

/** True when a rule of Istio refuses the plan (not merely a missed deadline). */
export const isRefused = (problems: readonly PlanProblem[]): boolean => problems.some((p) => p.refusal === true);
