import { InvalidArgumentError } from 'commander';
import { ExcludedUnit } from '@meshwave/contracts';

/**
 * A unit as the status names it: `cluster/namespace` (every workload of the namespace) or
 * `cluster/namespace/Kind/name` (one workload). Undefined when the key is neither.
 */
export function parseUnitKey(key: string): ExcludedUnit | undefined {
  const parts = key.split('/');
  if (parts.length !== 2 && parts.length !== 4) return undefined;
  const [cluster, namespace, kind, name] = parts;
  const parsed = ExcludedUnit.safeParse({ cluster, namespace, ...(kind === undefined ? {} : { kind, name }) });
  return parsed.success ? parsed.data : undefined;
}

/** `--unit` values: parsed and collected; a malformed one is a usage error naming the expected form. */
export function collectUnit(value: string, previous: readonly ExcludedUnit[] = []): ExcludedUnit[] {
  const unit = parseUnitKey(value);
  if (unit === undefined)
    throw new InvalidArgumentError(
      `"${value}" is not a unit: cluster/namespace or cluster/namespace/Kind/name (Kind: Deployment, StatefulSet, DaemonSet)`,
    );
  return [...previous, unit];
}
