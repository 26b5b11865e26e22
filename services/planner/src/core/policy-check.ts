import {
  resolvePercentOrCount,
  type Inventory,
  type Plan,
  type PlanPolicy,
  type Policy,
  type PolicyRule,
  type RolloutSpec,
} from '@meshwave/contracts';
import { labelsMatch } from '@meshwave/plan';
import { metricGatePaths } from './metric-query.js';

/** A rule a rollout breaks: its name, the field of the rollout file at fault, and what is wrong. */
export interface PolicyViolation {
  readonly rule: string;
  readonly path: string;
  readonly message: string;
}

/** Each rule with the waves (indexes into the spec's waves) that move units in a cluster it selects. */
function rulesApplying(policy: Policy, spec: RolloutSpec, plan: Plan, inventory: Inventory) {
  const labels = new Map(inventory.clusters.map((c) => [c.name, c.labels]));
  return policy.rules.flatMap((rule) => {
    const selected = (cluster: string): boolean => labelsMatch(rule.clusterLabels, labels.get(cluster) ?? {});
    const waves = plan.waves
      .filter((w) => w.clusters.some((c) => c.units > 0 && selected(c.cluster)))
      .map((w) => ({ planned: w, index: spec.spec.waves.findIndex((x) => x.name === w.name) }));
    return waves.length > 0 ? [{ rule, waves, selected }] : [];
  });
}

/** The names of the rules that apply to this rollout (what `meshwave apply` shows before it asks). */
export function policyRulesFor(policy: Policy, spec: RolloutSpec, plan: Plan, inventory: Inventory): string[] {
  return rulesApplying(policy, spec, plan, inventory).map((r) => r.rule.name);
}

/** What a dry run shows of the policy: the rules that apply and each one the rollout breaks. */
export function planPolicyOf(policy: Policy, spec: RolloutSpec, plan: Plan, inventory: Inventory): PlanPolicy {
  const violations = checkPolicy(policy, spec, plan, inventory).map(({ rule, path, message }) => ({
    rule,
    path,
    message,
  }));
  return { rules: policyRulesFor(policy, spec, plan, inventory), violations };
}

/**
 * Every rule the rollout breaks in the clusters each rule selects (pure): the first such wave without approval,
 * a wave soaking less, restarting more at once, no metric gate. Waves the planner added (an implicit forced
 * wave) are judged by the file's defaults.
 */
export function checkPolicy(policy: Policy, spec: RolloutSpec, plan: Plan, inventory: Inventory): PolicyViolation[] {
  const out: PolicyViolation[] = [];
  for (const { rule, waves, selected } of rulesApplying(policy, spec, plan, inventory)) {
    const add = (path: string, message: string): void => {
      out.push({ rule: rule.name, path, message: `policy rule "${rule.name}": ${message}` });
    };
    const req: PolicyRule['require'] = rule.require;
    const first = waves[0]!;
    if (req.firstWaveApproval === true && !first.planned.approval && !first.planned.forced)
      add(
        first.index >= 0 ? `spec.waves[${first.index}].approval` : 'spec.waves',
        `wave "${first.planned.name}" is the first to move units in ${fmt(rule)} clusters: it needs \`approval: true\``,
      );
    for (const { planned, index } of waves) {
      const wave = index >= 0 ? spec.spec.waves[index] : undefined;
      if (req.minSoak !== undefined && planned.soakSeconds < req.minSoak)
        add(
          wave?.soak !== undefined ? `spec.waves[${index}].soak` : 'spec.defaults.soak',
          `wave "${planned.name}" soaks ${planned.soakSeconds}s in ${fmt(rule)} clusters; at least ${req.minSoak}s`,
        );
      const limit = req.maxUnavailable;
      if (limit === undefined) continue;
      const over = planned.clusters.find(
        (c) => selected(c.cluster) && c.units > 0 && c.maxUnavailable > resolvePercentOrCount(limit, c.units),
      );
      if (over !== undefined)
        add(
          wave?.maxUnavailable !== undefined ? `spec.waves[${index}].maxUnavailable` : 'spec.defaults.maxUnavailable',
          `wave "${planned.name}" restarts ${over.maxUnavailable} of ${over.units} units at once in ${over.cluster}; at most ${resolvePercentOrCount(limit, over.units)} (${limit.kind === 'percent' ? `${limit.value}%` : limit.value})`,
        );
    }
    if (req.metricGates === true && metricGatePaths(spec.spec.gates).length === 0)
      add('spec.gates', `${fmt(rule)} clusters need a metric gate (gates.errorRate or gates.latencyP99)`);
  }
  return out;
}

const fmt = (rule: PolicyRule): string =>
  Object.entries(rule.clusterLabels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',') || 'all';
