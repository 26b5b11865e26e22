import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { newCapturedIo } from './captured-io.js';
import { buildProgram, runCli } from './program.js';

const newIo = newCapturedIo;

const commandNames = buildProgram({ io: newIo(), sleep: async () => undefined, exit: 0 }).commands.map((c) => c.name());

const example = readFileSync(new URL('../../../examples/rollouts.yml', import.meta.url), 'utf8');
const inventory = readFileSync(new URL('../../../examples/inventory.json', import.meta.url), 'utf8');
const planFiles = { 'rollouts.yml': example, 'inventory.json': inventory };
const NOW = ['--now', '2026-11-23T08:00:00Z'];

describe('meshwave --help', () => {
  it('lists every command, with examples, and exits 0', async () => {
    const io = newIo();
    expect(await runCli(['--help'], io)).toBe(0);
    const help = io.out.join('');
    for (const name of commandNames) expect(help).toContain(`  ${name}`);
    expect(help).toContain('Examples:');
  });

  it('has the commands the API offers', () => {
    expect(commandNames).toEqual(
      expect.arrayContaining([
        'exclude',
        'include',
        'retry',
        'freeze',
        'unfreeze',
        'audit',
        'transitions',
        'events',
        'revisions',
      ]),
    );
  });

  it.each(commandNames)('meshwave %s --help exits 0 with an example of the command', async (name) => {
    const io = newIo();
    expect(await runCli([name, '--help'], io)).toBe(0);
    const help = io.out.join('');
    expect(help).toContain(`Usage: meshwave ${name}`);
    expect(help).toMatch(new RegExp(`Examples:\\n(.*\\n)*.*\\$ .*meshwave ${name}\\b`));
    expect(io.err).toEqual([]);
  });

  it.each(commandNames)('meshwave help %s exits 0', async (name) => {
    expect(await runCli(['help', name], newIo())).toBe(0);
  });
});

describe('meshwave flags', () => {
  it('--version prints the package version', async () => {
    const io = newIo();
    expect(await runCli(['--version'], io)).toBe(0);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(io.out.join('').trim()).toBe(pkg.version);
  });

  it.each([
    [['status', '--bogus'], /unknown option '--bogus'/],
    [
      ['plan', '-f', 'rollouts.yml', '--output', 'xml'],
      /argument 'xml' is invalid. Allowed choices are table, json, yaml/,
    ],
    [['nope'], /unknown command 'nope'/],
    [['retry', 'r1'], /required option '--reason <text>' not specified/],
    [['exclude', 'r1', '--unit', 'just-a-cluster'], /"just-a-cluster" is not a unit/],
    [['audit', '--limit', '0'], /an integer from 1 to 500/],
    [['completion', 'fish'], /Allowed choices are bash, zsh/],
    [['status', 'a', 'b'], /too many arguments/],
    [[], /Usage: meshwave/],
  ])('%j is a usage error: exit 2, said on stderr', async (argv, message) => {
    const io = newIo();
    expect(await runCli(argv, io)).toBe(2);
    expect(io.err.join('')).toMatch(message);
  });

  it('reads the rollout file from -f and prints -o json|yaml', async () => {
    const json = newIo(planFiles);
    expect([0, 3]).toContain(
      await runCli(['plan', '-f', 'rollouts.yml', '--inventory', 'inventory.json', ...NOW, '-o', 'json'], json),
    );
    expect((JSON.parse(json.out.join('')) as { rollout: string }).rollout).toBe('istio-1-25-2');
    const yaml = newIo(planFiles);
    await runCli(['plan', '--file', 'rollouts.yml', '--inventory', 'inventory.json', ...NOW, '--output', 'yaml'], yaml);
    expect(yaml.out.join('')).toMatch(/^rollout: istio-1-25-2$/m);
    expect(json.err).toEqual([]);
  });

  it('still takes --spec and --format, saying on stderr what replaced them', async () => {
    const io = newIo(planFiles);
    const code = await runCli(
      ['plan', '--spec', 'rollouts.yml', '--inventory', 'inventory.json', ...NOW, '--format', 'json'],
      io,
    );
    expect([0, 3]).toContain(code);
    expect((JSON.parse(io.out.join('')) as { rollout: string }).rollout).toBe('istio-1-25-2');
    expect(io.err).toEqual([
      'meshwave: --spec is deprecated and will be removed; use -f/--file',
      'meshwave: --format is deprecated and will be removed; use -o/--output',
    ]);
  });

  it('prefers the new flag when both spellings are given', async () => {
    const io = newIo(planFiles);
    await runCli(
      ['plan', '-f', 'rollouts.yml', '--inventory', 'inventory.json', ...NOW, '--format', 'json', '-o', 'yaml'],
      io,
    );
    expect(io.out.join('')).toMatch(/^rollout: istio-1-25-2$/m);
  });

  it('hides the deprecated spellings from help', async () => {
    const io = newIo();
    await runCli(['plan', '--help'], io);
    expect(io.out.join('')).not.toMatch(/--spec|--format/);
  });
});
