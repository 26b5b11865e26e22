import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { InvalidInputError, formatProblem, type InputProblem } from '@meshwave/contracts';
import type { CommandIo } from '../io.js';
import { addExamples, addOutputOption, printAs, type CliContext, type OutputFormat } from './cli-options.js';
import { inventoryAssignment, plannerAssignment, type PinAssignment } from './pin-assignment.js';
import { namespaceHandoffs, parseManifests, pinText, type ParsedManifests, type PinChange } from './pin-manifests.js';

export { assignmentFromPlan, type PinAssignment } from './pin-assignment.js';
export { pinDocument, pinText, type PinChange } from './pin-manifests.js';

/**
 * `meshwave pin`: the CI half of keeping workloads on their assigned revision. Rewrites `istio.io/rev` in
 * manifests (namespaces and pod templates) to the assignment, editing through the yaml Document API so
 * comments survive, and leaving every document it does not change byte for byte as it was.
 */

/** What the command touches; the CLI passes its own, tests pass fakes. Missing members fall back to node:fs. */
export type PinIo = CommandIo;

export const PinExitCode = { Ok: 0, WouldChange: 1, InvalidInput: 2 } as const;

async function defaultListYamlFiles(path: string): Promise<readonly string[] | undefined> {
  if (!(await stat(path)).isDirectory()) return undefined;
  const out: string[] = [];
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) out.push(...((await defaultListYamlFiles(full)) ?? []));
    else if (/\.ya?ml$/.test(entry.name)) out.push(full);
  }
  return out.sort();
}

/** A file the command cannot read is bad input (exit 2), named with the reason. */
const unreadable = (file: string, err: unknown): InvalidInputError =>
  new InvalidInputError(
    [{ file, path: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }],
    { cause: err },
  );

/** The manifest files named by `-f`: files as given, directories expanded to the YAML files under them. */
async function expandFiles(paths: readonly string[], io: PinIo): Promise<string[]> {
  const list = io.listYamlFiles ?? defaultListYamlFiles;
  const files: string[] = [];
  for (const f of paths) {
    let under: readonly string[] | undefined;
    try {
      under = await list(f);
    } catch (err) {
      throw unreadable(f, err);
    }
    files.push(...(under ?? [f]));
  }
  return files;
}

/**
 * Pins every file to the assignment, all or nothing: one unparseable manifest and no file is rewritten. Each
 * file is parsed once: the handoff looks across all of them before any is rewritten.
 */
async function pinFiles(
  texts: readonly { file: string; text: string }[],
  assignment: PinAssignment,
  options: { readonly namespace: string; readonly check: boolean },
  io: PinIo,
): Promise<PinChange[]> {
  const errors: InputProblem[] = [];
  const parsed: { file: string; text: string; manifests: ParsedManifests }[] = [];
  for (const t of texts) {
    try {
      parsed.push({ ...t, manifests: parseManifests(t.text, t.file) });
    } catch (err) {
      if (err instanceof InvalidInputError) errors.push(...err.problems);
      else throw err;
    }
  }
  if (errors.length > 0) throw new InvalidInputError(errors);
  const { handoffs, dropNamespaceLabel, missing } = namespaceHandoffs(
    parsed.map((p) => p.manifests),
    assignment,
    options.namespace,
  );
  const withHandoffs: PinAssignment = { ...assignment, handoffs, dropNamespaceLabel };
  for (const [ns, absent] of missing)
    io.stderr(
      `Namespace/${ns} keeps istio.io/rev=${handoffs.get(ns)}: these workloads of it are not in the manifests and would lose their sidecar without it: ${absent.join(', ')}`,
    );
  const allChanges: PinChange[] = [];
  const rewrites: { file: string; text: string }[] = [];
  for (const { file, text: source, manifests } of parsed) {
    const { text, changes } = pinText(source, file, withHandoffs, options.namespace, manifests);
    allChanges.push(...changes);
    if (changes.length > 0) rewrites.push({ file, text });
  }
  const write = io.writeFile ?? ((p: string, t: string) => writeFile(p, t, 'utf8'));
  if (!options.check) for (const r of rewrites) await write(r.file, r.text);
  return allChanges;
}

interface PinFlags {
  readonly file?: readonly string[];
  readonly rollout?: string;
  readonly inventory?: string;
  readonly planner?: string;
  readonly cluster?: string;
  readonly through?: string;
  readonly namespace: string;
  readonly token?: string;
  readonly check: boolean;
  readonly now?: string;
  readonly output: OutputFormat;
}

/** `meshwave pin`: 0 done (or nothing to do), 1 with --check when something would change, 2 on bad input. */
async function runPin(values: PinFlags, io: PinIo): Promise<number> {
  const problems: string[] = [];
  if (values.file === undefined || values.file.length === 0)
    problems.push('-f/--file: missing: a manifest file or directory');
  if (values.inventory === undefined && values.planner === undefined)
    problems.push('--inventory or --planner: one is needed for the assignment');
  if (values.inventory !== undefined && values.rollout === undefined)
    problems.push('--rollout: missing: the rollout file the inventory is planned with');
  if (values.planner !== undefined && values.cluster === undefined)
    problems.push('--cluster: missing: the planner is asked for one cluster');
  if (problems.length > 0) {
    io.stderr(`${problems.join('\n')}\n(see meshwave pin --help)`);
    return PinExitCode.InvalidInput;
  }
  const readText = async (path: string): Promise<string> => {
    try {
      return await io.readFile(path);
    } catch (err) {
      throw unreadable(path, err);
    }
  };
  try {
    let assignment: PinAssignment;
    if (values.inventory !== undefined && values.rollout !== undefined) {
      const [specText, inventoryText] = await Promise.all([readText(values.rollout), readText(values.inventory)]);
      assignment = inventoryAssignment(
        { rollout: values.rollout, specText, inventory: values.inventory, inventoryText },
        {
          ...(values.cluster !== undefined ? { cluster: values.cluster } : {}),
          ...(values.through !== undefined ? { through: values.through } : {}),
          now: values.now !== undefined ? new Date(values.now) : new Date(),
        },
      );
    } else {
      assignment = await plannerAssignment(
        io.fetch ?? fetch,
        values.planner!,
        values.cluster!,
        values.token ?? io.env.MESHWAVE_TOKEN,
      );
    }
    const files = await expandFiles(values.file ?? [], io);
    const texts = await Promise.all(files.map(async (file) => ({ file, text: await readText(file) })));
    const allChanges = await pinFiles(texts, assignment, { namespace: values.namespace, check: values.check }, io);
    printAs(io, values.output, { check: values.check, files: files.length, changes: allChanges }, () =>
      allChanges.length === 0
        ? `${files.length} file(s) already pinned`
        : allChanges
            .map(
              (c) =>
                `${c.file}:${c.line}: ${c.object} → ${
                  c.revision === null
                    ? 'istio.io/rev removed (handed over to its workloads)'
                    : `istio.io/rev=${c.revision}`
                }${values.check ? ' (would change)' : ''}`,
            )
            .join('\n'),
    );
    return values.check && allChanges.length > 0 ? PinExitCode.WouldChange : PinExitCode.Ok;
  } catch (err) {
    if (err instanceof InvalidInputError) {
      io.stderr(err.problems.map(formatProblem).join('\n'));
      return PinExitCode.InvalidInput;
    }
    throw err;
  }
}

/** The `meshwave pin` command: its flags, help and examples. */
export function pinCommand(ctx: CliContext): Command {
  const cmd = new Command('pin')
    .description('rewrite istio.io/rev in manifests to the revision the rollout assigns; --check for CI gates')
    .addOption(
      new Option(
        '-f, --file <path>',
        'manifest file (multi-document YAML, Helm output) or directory (every *.yaml/*.yml under it); repeatable',
      ).argParser((v: string, previous: string[] | undefined) => [...(previous ?? []), v]),
    )
    .option('--rollout <file>', 'the rollout file (rollouts.yml)')
    .option('--inventory <file>', 'fleet inventory: the assignment is what the plan has moved through --through')
    .option('--planner <url>', 'ask a running planner for the assignment now (needs --cluster)')
    .option('--token <token>', 'API token for --planner (env MESHWAVE_TOKEN)')
    .option('--cluster <name>', "only this cluster's assignments")
    .option('--through <wave>', 'the assignment once this wave is done (default: every wave)')
    .option('--namespace <ns>', 'namespace of objects that name none', 'default')
    .option('--check', 'change nothing; exit 1 when a change would be made (CI gate)', false)
    .option('--now <time>', 'plan as of this RFC 3339 time (default: now)');
  addOutputOption(cmd);
  addExamples(cmd, [
    'meshwave pin -f examples/manifests/prod-us-east-1 --rollout examples/rollouts.yml --inventory examples/inventory.json --cluster prod-us-east-1 --check',
    'meshwave pin -f k8s/ --planner https://planner.example --cluster prod-us-east-1',
  ]);
  cmd.addHelpText('after', 'Exit status: 0 done, 1 with --check when a file would change, 2 invalid input.\n');
  return cmd.action(async (opts: PinFlags) => {
    ctx.exit = await runPin(opts, ctx.io);
  });
}
