import { InvalidInputError, formatProblem } from '@meshwave/contracts';
import { ExitCode, type CommandIo } from '../io.js';

/** Reads a file a command was given; one that cannot be read is invalid input, named by its path. */
export async function readInputFile(io: Pick<CommandIo, 'readFile'>, path: string): Promise<string> {
  try {
    return await io.readFile(path);
  } catch (err) {
    throw new InvalidInputError(
      [
        {
          file: path,
          path: '',
          message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        },
      ],
      { cause: err },
    );
  }
}

/** Runs a command's work; invalid input (a file unread, a field wrong) is printed one problem a line and exits 2. */
export async function exitOnInvalidInput(io: Pick<CommandIo, 'stderr'>, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof InvalidInputError)) throw err;
    io.stderr(err.problems.map(formatProblem).join('\n'));
    return ExitCode.InvalidInput;
  }
}
