import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { InvalidInputError, formatProblem, type InputProblem } from '@meshwave/contracts';
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
export interface PinIo {
  readonly readFile: (path: string) => Promise<string>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly writeFile?: (path: string, text: string) => Promise<void>;
  /** the YAML files under a directory, recursively; undefined when `path` is a file */
  readonly listYamlFiles?: (path: string) => Promise<readonly string[] | undefined>;
  readonly fetch?: typeof fetch;
}

export const PinExitCode = { Ok: 0, WouldChange: 1, InvalidInput: 2 } as const;

const USAGE = `usage: meshwave pin -f PATH [-f PATH ...] --rollout FILE (--inventory FILE | --planner URL) [--cluster NAME]
                    [--through WAVE] [--namespace NS] [--check] [--token TOKEN]
  -f PATH          manifest file (multi-document YAML, Helm output) or directory (every *.yaml/*.yml under it)
  --rollout FILE   the rollout file (rollouts.yml)
  --inventory FILE fleet inventory: the assignment is what the plan has moved through --through (default: every wave)
  --planner URL    ask a running planner for the assignment now (needs --cluster)
  --cluster NAME   only this cluster's assignments
  --namespace NS   namespace of objects that name none (default: default)
  --check          change nothing; exit 1 when a change would be made (CI gate)`;

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

/** `meshwave pin`: 0 done (or nothing to do), 1 with --check when something would change, 2 on bad input. */
export async function runPinCommand(args: readonly string[], io: PinIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        file: { type: 'string', short: 'f', multiple: true },
        rollout: { type: 'string' },
        inventory: { type: 'string' },
        planner: { type: 'string' },
        cluster: { type: 'string' },
        through: { type: 'string' },
        namespace: { type: 'string', default: 'default' },
        token: { type: 'string' },
        check: { type: 'boolean', default: false },
        now: { type: 'string' },
      },
      strict: true,
    }));
  } catch (err) {
    io.stderr(`${(err as Error).message}\n${USAGE}`);
    return PinExitCode.InvalidInput;
  }
  const problems: string[] = [];
  if (!values.file || values.file.length === 0) problems.push('-f: missing: a manifest file or directory');
  if (values.inventory === undefined && values.planner === undefined)
    problems.push('--inventory or --planner: one is needed for the assignment');
  if (values.inventory !== undefined && values.rollout === undefined)
    problems.push('--rollout: missing: the rollout file the inventory is planned with');
  if (values.planner !== undefined && values.cluster === undefined)
    problems.push('--cluster: missing: the planner is asked for one cluster');
  if (problems.length > 0) {
    io.stderr(`${problems.join('\n')}\n${USAGE}`);
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
    for (const c of allChanges)
      io.stdout(
        `${c.file}:${c.line}: ${c.object} → ${
          c.revision === null ? 'istio.io/rev removed (handed over to its workloads)' : `istio.io/rev=${c.revision}`
        }${values.check ? ' (would change)' : ''}`,
      );
    if (allChanges.length === 0) io.stdout(`${files.length} file(s) already pinned`);
    return values.check && allChanges.length > 0 ? PinExitCode.WouldChange : PinExitCode.Ok;
  } catch (err) {
    if (err instanceof InvalidInputError) {
      io.stderr(err.problems.map(formatProblem).join('\n'));
      return PinExitCode.InvalidInput;
    }
    throw err;
  }
}
