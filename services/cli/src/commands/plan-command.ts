import { parseArgs } from 'node:util';
import { InvalidInputError, formatProblem, parseInventory, parseRolloutSpec } from '@meshwave/contracts';
import { formatPlanTable, isRefused, planRollout } from '@meshwave/plan';
import { ExitCode, type CommandIo } from '../io.js';
import { readInputFile } from './read-input.js';

const USAGE = 'usage: meshwave plan --spec FILE --inventory FILE [--now RFC3339] [--format json|table]';

/**
 * `meshwave plan`: exit 0 when feasible, 3 when computed but missing the deadline, 4 when one of Istio's rules
 * refuses it (ADR 0028), 2 on invalid input.
 */
export async function runPlanCommand(args: readonly string[], io: CommandIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        spec: { type: 'string' },
        inventory: { type: 'string' },
        now: { type: 'string' },
        format: { type: 'string', default: 'table' },
      },
      strict: true,
    }));
  } catch (err) {
    io.stderr(`${(err as Error).message}\n${USAGE}`);
    return ExitCode.InvalidInput;
  }
  const problems: string[] = [];
  if (values.spec === undefined) problems.push('--spec: missing: the rollout file (rollouts.yml)');
  if (values.inventory === undefined) problems.push('--inventory: missing: the fleet inventory (JSON or YAML)');
  if (values.format !== 'json' && values.format !== 'table')
    problems.push(`--format: "${values.format}" is not json or table`);
  const now = values.now === undefined ? new Date() : new Date(values.now);
  if (Number.isNaN(now.getTime()) || (values.now !== undefined && !/^\d{4}-\d\d-\d\dT/.test(values.now))) {
    problems.push(`--now: "${values.now}" is not an RFC 3339 time such as 2026-11-23T08:00:00Z`);
  }
  if (problems.length > 0) {
    io.stderr(`${problems.join('\n')}\n${USAGE}`);
    return ExitCode.InvalidInput;
  }
  try {
    const [specText, inventoryText] = await Promise.all([
      readInputFile(io, values.spec!),
      readInputFile(io, values.inventory!),
    ]);
    const spec = parseRolloutSpec(specText, values.spec);
    const inventory = parseInventory(inventoryText, values.inventory);
    const plan = planRollout(spec, inventory, { now });
    io.stdout(values.format === 'json' ? JSON.stringify(plan, null, 2) : formatPlanTable(plan));
    if (isRefused(plan.problems)) return ExitCode.Refused;
    return plan.feasible ? ExitCode.Ok : ExitCode.DeadlineMissed;
  } catch (err) {
    if (err instanceof InvalidInputError) {
      io.stderr(err.problems.map(formatProblem).join('\n'));
      return ExitCode.InvalidInput;
    }
    throw err;
  }
}
