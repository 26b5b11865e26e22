import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { newCapturedIo } from '../captured-io.js';
import { buildProgram, runCli } from '../program.js';

async function script(shell: string): Promise<string> {
  const io = newCapturedIo();
  expect(await runCli(['completion', shell], io)).toBe(0);
  return io.out.join('');
}

const program = buildProgram({ io: newCapturedIo(), sleep: async () => undefined, exit: 0 });

describe('meshwave completion', () => {
  it('bash: a valid script that completes every command and, after one, its flags', async () => {
    const text = await script('bash');
    expect(spawnSync('bash', ['-n'], { input: text }).status).toBe(0);
    // run it: complete "meshwave st" and "meshwave status --w"
    const complete = (line: string): string[] => {
      const words = line.split(' ');
      const r = spawnSync(
        'bash',
        [
          '-c',
          `${text}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _meshwave; echo "\${COMPREPLY[@]}"`,
        ],
        { encoding: 'utf8' },
      );
      return r.stdout.trim().split(' ');
    };
    expect(complete('meshwave st')).toEqual(['status']);
    expect(complete('meshwave status --w')).toEqual(['--watch']);
    expect(complete('meshwave plan --')).toEqual(expect.arrayContaining(['--file', '--output', '--inventory']));
    expect(complete('meshwave plan --')).not.toContain('--spec');
    for (const c of program.commands) expect(text).toContain(`    ${c.name()}) flags=`);
  });

  it('zsh: describes every command and its flags', async () => {
    const text = await script('zsh');
    expect(text.startsWith('#compdef meshwave\n')).toBe(true);
    for (const c of program.commands) expect(text).toContain(`    '${c.name()}:`);
    expect(text).toContain("'--output[output format]:value:_files'");
  });
});
