import { InvalidInputError } from '@meshwave/contracts';
import type { CommandIo } from '../io.js';

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
