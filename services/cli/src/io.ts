import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';

/** The terminal stdout writes to; absent when stdout is a pipe or a file. */
export interface Terminal {
  readonly columns: number;
  readonly rows: number;
}

/** What a command touches outside itself; tests pass their own. */
export interface CommandIo {
  readonly readFile: (path: string) => Promise<string>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** set when stdout is a TTY: live views redraw in place there, and append plain lines anywhere else */
  readonly terminal?: Terminal;
  readonly writeFile?: (path: string, text: string) => Promise<void>;
  /** the YAML files under a directory, recursively; undefined when `path` is a file */
  readonly listYamlFiles?: (path: string) => Promise<readonly string[] | undefined>;
  readonly fetch?: typeof fetch;
  /**
   * Asks the person at the terminal and returns their answer; absent when stdin or stdout is not a terminal
   * (a pipe, CI), where nobody can answer.
   */
  readonly ask?: (question: string) => Promise<string>;
}

export const processIo: CommandIo = {
  readFile: (path) => readFile(path, 'utf8'),
  stdout: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  stderr: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  env: process.env,
  get terminal(): Terminal | undefined {
    return process.stdout.isTTY
      ? { columns: process.stdout.columns || 80, rows: process.stdout.rows || 24 }
      : undefined;
  },
  get ask(): ((question: string) => Promise<string>) | undefined {
    if (!process.stdin.isTTY || !process.stdout.isTTY) return undefined;
    return async (question) => {
      // the question goes to stderr, so stdout keeps only the command's output
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    };
  },
};

/** Exit codes shared by every command. */
export const ExitCode = { Ok: 0, Failure: 1, InvalidInput: 2, DeadlineMissed: 3, Refused: 4 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
