/**
 * Istio's own rules on which version changes it supports (ADR 0028): pure functions of two versions, no I/O.
 * Versions are those of the control planes (istiod's image), never read from revision names.
 */

/** An Istio release version `major.minor.patch[-suffix]`. */
export interface IstioVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** the version as written */
  readonly text: string;
}

/** How the data plane moves to the new control plane. */
export const UpgradeMethod = {
  /** a second control plane (revision) beside the old one; workloads are relabelled and restarted onto it */
  Revision: 'revision',
  /** the control plane is replaced where it runs; proxies follow on their next restart */
  InPlace: 'in-place',
} as const;
export type UpgradeMethod = (typeof UpgradeMethod)[keyof typeof UpgradeMethod];

/** Minor versions one step may cross, per method (Istio's canary and in-place upgrade pages). */
export const MAX_MINOR_JUMP: Readonly<Record<UpgradeMethod, number>> = { revision: 2, 'in-place': 1 };

/**
 * Minor versions the control plane may be ahead of the proxies it serves (Istio's supported-releases page:
 * "one version ahead"; the data plane is never ahead).
 */
export const MAX_CONTROL_PLANE_LEAD = 1;

/** `1.25.2` (a leading `v` and a suffix such as `-distroless` or `-rc.1` allowed) → its parts; undefined otherwise. */
export function parseIstioVersion(text: string | null | undefined): IstioVersion | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(text ?? '');
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), text: text! };
}

/** The verdict of a rule on a pair of versions: supported, or why not. */
export type RuleVerdict = { readonly supported: true } | { readonly supported: false; readonly why: string };

const SUPPORTED: RuleVerdict = { supported: true };
const refuse = (why: string): RuleVerdict => ({ supported: false, why });

/**
 * Whether Istio supports changing the control plane a data plane runs with from `from` to `to` by `method`:
 * at most two minor versions for a revision-based change, one in place, either way (a move back is a
 * downgrade Istio documents within the same bounds); never across major versions. Patch changes are free.
 */
export function upgradePathVerdict(from: IstioVersion, to: IstioVersion, method: UpgradeMethod): RuleVerdict {
  if (from.major !== to.major) return refuse(`${from.text} → ${to.text} crosses a major version`);
  const jump = Math.abs(to.minor - from.minor);
  const max = MAX_MINOR_JUMP[method];
  if (jump <= max) return SUPPORTED;
  const direction = to.minor > from.minor ? 'upgrade' : 'downgrade';
  return refuse(
    `${from.text} → ${to.text} is ${direction === 'upgrade' ? 'an' : 'a'} ${direction} of ${jump} minor versions; a ${method === UpgradeMethod.Revision ? 'revision-based' : 'in-place'} ${direction} may cross at most ${max}`,
  );
}

/**
 * Whether proxies of version `dataPlane` may be served by a control plane of version `controlPlane`: the
 * control plane may be one minor version ahead, the data plane never ahead (patch versions do not count).
 */
export function versionSkewVerdict(dataPlane: IstioVersion, controlPlane: IstioVersion): RuleVerdict {
  if (dataPlane.major !== controlPlane.major)
    return refuse(`proxies ${dataPlane.text} and control plane ${controlPlane.text} differ in major version`);
  const lead = controlPlane.minor - dataPlane.minor;
  if (lead < 0) return refuse(`proxies ${dataPlane.text} are newer than their control plane ${controlPlane.text}`);
  if (lead > MAX_CONTROL_PLANE_LEAD)
    return refuse(
      `control plane ${controlPlane.text} is ${lead} minor versions ahead of its proxies ${dataPlane.text}; at most ${MAX_CONTROL_PLANE_LEAD}`,
    );
  return SUPPORTED;
}
