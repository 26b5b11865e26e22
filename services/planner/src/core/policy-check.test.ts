import { readFileSync } from 'node:fs';
import { Inventory, Policy, parseDocumentText } from '@meshwave/contracts';
import { planRollout } from '@meshwave/plan';
import { describe, expect, it } from 'vitest';
import { T0, newInventory, newSpec, type SpecOverrides } from './engine-harness.js';
import { checkPolicy, policyRulesFor } from './policy-check.js';

const PROD = Policy.parse({
  apiVersion: 'meshwave.io/v1alpha1',
  kind: 'Policy',
  rules: [
    {
      name: 'prod-guardrails',
      clusterLabels: { env: 'prod' },
      require: { firstWaveApproval: true, minSoak: '1h', maxUnavailable: '10%', metricGates: true },
    },
    { name: 'staging-soak', clusterLabels: { env: 'staging' }, require: { minSoak: '5m' } },
  ],
});

/** prod-1 and prod-2 labelled env=prod, and one staging cluster. */
function fleet(): Inventory {
  const inv = newInventory(2);
  const staging = { ...inv.clusters[0]!, name: 'staging-1', labels: { env: 'staging' } };
  return Inventory.parse({ ...inv, clusters: [...inv.clusters, staging] });
}

function check(overrides: SpecOverrides) {
  const spec = newSpec(overrides);
  const inventory = fleet();
  const plan = planRollout(spec, inventory, { now: T0 });
  return { violations: checkPolicy(PROD, spec, plan, inventory), rules: policyRulesFor(PROD, spec, plan, inventory) };
}

describe('policy per environment', () => {
  it('Given env=prod rules, When a rollout moving prod units breaks them, Then each broken requirement is named with the rule and the field of the rollout file', () => {
    const { violations, rules } = check({});
    expect(rules).toEqual(['prod-guardrails', 'staging-soak']);
    expect(violations.filter((v) => v.rule === 'prod-guardrails').map((v) => v.path)).toEqual([
      'spec.waves[0].approval',
      'spec.defaults.soak', // the canary (one unit per cluster) restarts within 10%
      'spec.defaults.soak',
      'spec.defaults.maxUnavailable',
      'spec.defaults.soak',
      'spec.defaults.maxUnavailable',
      'spec.gates',
    ]);
    expect(violations[0]!.message).toBe(
      'policy rule "prod-guardrails": wave "canary" is the first to move units in env=prod clusters: it needs `approval: true`',
    );
    expect(violations.some((v) => v.rule === 'staging-soak' && v.path === 'spec.defaults.soak')).toBe(true);
  });

  it('Given a rollout that keeps the rules, Then nothing is refused', () => {
    const { violations } = check({
      defaults: { soak: '1h', maxUnavailable: '10%', batchEstimate: '1m' },
      waves: [
        { name: 'canary', percent: 10, approval: true },
        { name: 'all', percent: 100 },
      ],
      gates: { errorRate: { max: 0.01 } },
    });
    expect(violations).toEqual([]);
  });

  it('Given a rollout that selects only staging clusters, Then the prod rule does not apply', () => {
    const { violations, rules } = check({
      defaults: { soak: '5m', maxUnavailable: '50%', batchEstimate: '1m' },
      waves: [{ name: 'all', percent: 100, select: { clusterLabels: { env: 'staging' } } }],
    });
    expect(rules).toEqual(['staging-soak']);
    expect(violations).toEqual([]);
  });
});

describe('examples/policy.yml', () => {
  it('is a valid policy', () => {
    const file = new URL('../../../../examples/policy.yml', import.meta.url);
    const policy = parseDocumentText(Policy, readFileSync(file, 'utf8'), 'examples/policy.yml');
    expect(policy.rules.map((r) => r.name)).toEqual(['prod-guardrails']);
    expect(policy.emergencies.allowInBlackouts).toBe(true);
  });
});
