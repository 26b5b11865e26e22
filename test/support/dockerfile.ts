// The Dockerfiles of deploy/docker read as data, for the test that carries out their steps without a Docker
// engine (test/integration/deploy/images.test.ts, ADR 0029). Only the instructions those files use are known;
// any other one is an error, so that a Dockerfile cannot grow a step the test silently skips.

export interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

export interface Stage {
  readonly image: string;
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
}

export interface Dockerfile {
  /** global ARGs (before the first FROM) with their defaults */
  readonly args: Readonly<Record<string, string>>;
  readonly stages: readonly Stage[];
}

// HEALTHCHECK is read so that the test can say it must not be there (Kubernetes probes instead).
const KNOWN = new Set([
  'ARG',
  'FROM',
  'WORKDIR',
  'COPY',
  'RUN',
  'LABEL',
  'ENV',
  'USER',
  'EXPOSE',
  'ENTRYPOINT',
  'CMD',
  'HEALTHCHECK',
]);

/** Logical lines: comments dropped, `\` continuations joined. */
function logicalLines(text: string): string[] {
  const lines: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) pending += `${line.slice(0, -1).trim()} `;
    else {
      lines.push(pending + line);
      pending = '';
    }
  }
  if (pending !== '') lines.push(pending.trim());
  return lines;
}

const substitute = (text: string, args: Readonly<Record<string, string>>): string =>
  text.replace(/\$\{(\w+)\}/g, (whole, name: string) => args[name] ?? whole);

export function parseDockerfile(text: string): Dockerfile {
  const args: Record<string, string> = {};
  const stages: { image: string; name: string | undefined; instructions: Instruction[] }[] = [];
  for (const line of logicalLines(text)) {
    const match = /^(\w+)\s+(.*)$/.exec(line);
    if (match === null) throw new Error(`Dockerfile: cannot read "${line}"`);
    const keyword = match[1]!.toUpperCase();
    const rest = match[2]!;
    if (!KNOWN.has(keyword)) throw new Error(`Dockerfile: ${keyword} is not an instruction this test carries out`);
    if (keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (from === null) throw new Error(`Dockerfile: cannot read FROM ${rest}`);
      stages.push({ image: substitute(from[1]!, args), name: from[2], instructions: [] });
    } else if (stages.length === 0) {
      if (keyword !== 'ARG') throw new Error(`Dockerfile: ${keyword} before the first FROM`);
      const [name, value] = rest.split('=', 2) as [string, string | undefined];
      args[name] = value ?? '';
    } else stages.at(-1)!.instructions.push({ keyword, args: rest });
  }
  return { args, stages };
}

/** The stage's instructions of one kind, in order. */
export const instructionsOf = (stage: Stage, keyword: string): string[] =>
  stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

/** `COPY [--from=x] [--chown=..] src... dest` as its parts. */
export function parseCopy(args: string): { from: string | undefined; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  if (paths.length < 2) throw new Error(`COPY ${args}: needs a source and a destination`);
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  return { from, sources: paths.slice(0, -1), dest: paths.at(-1)! };
}

/** LABEL k="v" k2="v2" as a record. */
export function parseLabels(args: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const m of args.matchAll(/([\w.-]+)="([^"]*)"/g)) labels[m[1]!] = m[2]!;
  return labels;
}

/** The exec form `["a", "b"]` of ENTRYPOINT or CMD; the shell form is refused (signals would go to a shell). */
export function parseExecForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string'))
    throw new Error(`${args}: not the exec form ["command", "arg", ...]`);
  return parsed as string[];
}
