import { parseDocument } from 'yaml';

/**
 * The example rollout made to run in minutes: soaks (and the ambient section's grace) shortened, change windows and pins dropped (they are
 * days away), deadline an hour from now, the inconclusive limit scaled to the demo's 1 s gate retry. Everything else — waves, selectors, exclusions, approvals, VM
 * groups, gate policy — is the example's.
 */
export function demoRolloutSpec(exampleText: string, soakSeconds: number, now: Date): Record<string, unknown> {
  const doc = parseDocument(exampleText).toJS() as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
  const spec = doc.spec;
  const soak = `${Math.max(0, Math.round(soakSeconds))}s`;
  delete spec.windows;
  delete spec.pins;
  spec.deadline = new Date(now.getTime() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  spec.defaults = { ...(spec.defaults as object), soak, batchEstimate: '5s' };
  spec.waves = (spec.waves as Record<string, unknown>[]).map((w) => (w.soak === undefined ? w : { ...w, soak }));
  if (spec.gateways !== undefined) spec.gateways = { ...(spec.gateways as object), soak };
  // a cordoned node is held for the demo's soak, not the example's minutes
  if (spec.ambient !== undefined) spec.ambient = { ...(spec.ambient as object), soak, grace: soak };
  // The embedded planner evaluates a waiting gate every second, not every 15 s: the inconclusive limit in proportion.
  spec.gates = { ...(spec.gates as object), inconclusive: { limit: 600, timeout: '30m' } };
  return { ...doc, metadata: { ...doc.metadata, name: `${String(doc.metadata.name)}-demo` } };
}
