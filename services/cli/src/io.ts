import { readFile } from 'node:fs/promises';

/** What a command touches outside itself; tests pass their own. */
export interface CommandIo {
  readonly readFile: (path: string) => Promise<string>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export const processIo: CommandIo = {
  readFile: (path) => readFile(path, 'utf8'),
  stdout: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  stderr: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  env: process.env,
};

/** Exit codes shared by every command. */
export const ExitCode = { Ok: 0, Failure: 1, InvalidInput: 2, DeadlineMissed: 3, Refused: 4 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
