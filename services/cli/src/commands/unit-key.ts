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

/** A `--unit` value, checked: a malformed one is a usage error naming the expected form. */
function checkedUnit(value: string): ExcludedUnit {
  const unit = parseUnitKey(value);
  if (unit === undefined)
    throw new InvalidArgumentError(
      `"${value}" is not a unit: cluster/namespace or cluster/namespace/Kind/name (Kind: Deployment, StatefulSet, DaemonSet)`,
    );
  return unit;
}

/** `--unit` values collected as the exclude route takes them (objects). */
export function collectUnit(value: string, previous: readonly ExcludedUnit[] = []): ExcludedUnit[] {
  return [...previous, checkedUnit(value)];
}

/** `--unit` values collected as keys, as the status shows them and the retry route takes them. */
export function collectUnitKey(value: string, previous: readonly string[] = []): string[] {
  checkedUnit(value);
  return [...previous, value];
}
