// Carries out a Dockerfile of deploy/docker without a Docker engine (ADR 0029): each stage gets a directory as its
// root filesystem; COPY takes from the build context (minus .dockerignore) or from another stage's root; RUN runs
// the command verbatim in the stage's WORKDIR, with absolute paths mapped into the stage's root and the Node 24
// of the repository on PATH. One step is replaced: the build stage's dev install (`npm ci`) links the
// repository's node_modules, installed by `npm ci` from the same lock.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { instructionsOf, parseCopy, parseExecForm, type Dockerfile, type Stage } from '../../support/dockerfile.ts';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** `.dockerignore` as a predicate on context-relative paths: `name`, `**\/name` and `**\/*.ext` patterns only. */
export function dockerIgnore(text: string): (relative: string) => boolean {
  const patterns = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const tests = patterns.map((p): ((segments: string[]) => boolean) => {
    const anywhere = p.startsWith('**/');
    const name = anywhere ? p.slice(3) : p;
    if (/[/!?[]/.test(name) || (name.includes('*') && !/^\*\.[\w.]+$/.test(name)))
      throw new Error(`.dockerignore: pattern ${p} is not one this test understands`);
    const matches = (segment: string): boolean =>
      name.startsWith('*.') ? segment.endsWith(name.slice(1)) : segment === name;
    return (segments) => (anywhere ? segments.some(matches) : matches(segments[0]!));
  });
  return (relative) => tests.some((t) => t(relative.split(path.sep)));
}

/** An absolute path of the image, inside the directory that stands for the stage's root. */
const inRoot = (root: string, absolute: string): string => path.join(root, absolute);

/** Words of a command starting with `/` are paths of the image. */
const mapPaths = (root: string, command: string): string =>
  command
    .split(/\s+/)
    .map((w) => (w.startsWith('/') ? inRoot(root, w) : w))
    .join(' ');

export interface StageRoots {
  /** stage name (or index) -> its root directory */
  readonly roots: Map<string, string>;
}

function copy(from: string, to: string, ignored: (relative: string) => boolean, base: string): void {
  const isDirectory = fs.statSync(from).isDirectory();
  const target = isDirectory || to.endsWith('/') ? path.join(to, isDirectory ? '' : path.basename(from)) : to;
  fs.cpSync(from, target, {
    recursive: true,
    force: true,
    preserveTimestamps: true, // as Docker's layer cache: an unchanged source does not make tsc -b rebuild
    verbatimSymlinks: true, // as COPY: npm's relative workspace links stay relative
    filter: (source) => !ignored(path.relative(base, source)),
  });
}

/**
 * What the build stage's `npm ci` makes, from the repository's install of the same lock: each dependency a link
 * to the repository's copy, and the workspace packages linked as npm links them (`../../libs/x`, relative), so
 * that they resolve to the build stage's own sources.
 */
function linkDevDependencies(workdir: string): void {
  const target = path.join(workdir, 'node_modules');
  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(target);
  const installed = path.join(repoRoot, 'node_modules');
  for (const entry of fs.readdirSync(installed)) {
    if (entry === '.bin' || entry === '.package-lock.json') continue;
    if (entry !== '@meshwave') fs.symlinkSync(path.join(installed, entry), path.join(target, entry));
    else {
      fs.mkdirSync(path.join(target, entry));
      for (const name of fs.readdirSync(path.join(installed, entry)))
        fs.symlinkSync(fs.readlinkSync(path.join(installed, entry, name)), path.join(target, entry, name));
    }
  }
}

/** Runs the stage's instructions in `root`; `roots` has the roots of the stages before it. */
export function runStage(
  stage: Stage,
  root: string,
  roots: Map<string, string>,
  ignored: (r: string) => boolean,
): void {
  let workdir = '/';
  const env: Record<string, string> = {};
  for (const { keyword, args } of stage.instructions) {
    const cwd = inRoot(root, workdir);
    if (keyword === 'WORKDIR') {
      workdir = path.posix.resolve(workdir, args);
      fs.mkdirSync(inRoot(root, workdir), { recursive: true });
    } else if (keyword === 'ENV') {
      const [name, value] = args.split('=', 2) as [string, string];
      env[name] = value;
    } else if (keyword === 'COPY') {
      const { from, sources, dest } = parseCopy(args);
      const fromRoot = from === undefined ? repoRoot : roots.get(from);
      if (fromRoot === undefined) throw new Error(`COPY --from=${from}: no such stage`);
      const to = dest.startsWith('/') ? inRoot(root, dest) : path.join(cwd, dest) + (dest.endsWith('/') ? '/' : '');
      fs.mkdirSync(to.endsWith('/') ? to : path.dirname(to), { recursive: true });
      for (const source of sources)
        copy(path.join(fromRoot, source), to, from === undefined ? ignored : () => false, fromRoot);
    } else if (keyword === 'RUN') {
      if (/^npm ci\b/.test(args) && !args.includes('--omit=dev')) linkDevDependencies(cwd);
      else {
        const PATH = `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}`;
        execFileSync('sh', ['-c', mapPaths(root, args)], {
          cwd,
          env: { ...process.env, ...env, PATH },
          stdio: ['ignore', 'inherit', 'inherit'],
        });
      }
    }
  }
}

/** Builds every stage of `dockerfile` under `workspace` (stage roots reused when named alike: a layer cache). */
export function buildImage(dockerfile: Dockerfile, workspace: string, imageName: string): Map<string, string> {
  const ignored = dockerIgnore(fs.readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8'));
  const roots = new Map<string, string>();
  dockerfile.stages.forEach((stage, i) => {
    const last = i === dockerfile.stages.length - 1;
    const name = stage.name ?? String(i);
    const root = path.join(workspace, last ? `image-${imageName}` : `stage-${name}`);
    fs.mkdirSync(root, { recursive: true });
    runStage(stage, root, roots, ignored);
    roots.set(name, root);
  });
  return roots;
}

/** The image's ENTRYPOINT as a command here: `node` is this Node 24, absolute paths inside the image's root. */
export function entrypointCommand(stage: Stage, imageRoot: string): { command: string; args: string[]; cwd: string } {
  const [entrypoint] = instructionsOf(stage, 'ENTRYPOINT');
  if (entrypoint === undefined) throw new Error('the image has no ENTRYPOINT');
  const [program, ...args] = parseExecForm(entrypoint);
  if (program !== 'node') throw new Error(`ENTRYPOINT runs ${program}, not node`);
  const workdir = instructionsOf(stage, 'WORKDIR').at(-1) ?? '/';
  return {
    command: process.execPath,
    args: args.map((a) => (a.startsWith('/') ? inRoot(imageRoot, a) : a)),
    cwd: inRoot(imageRoot, workdir),
  };
}
