#!/usr/bin/env node
import { ExitCode, processIo } from './io.js';
import { runCli } from './program.js';

runCli(process.argv.slice(2), processIo).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // An unexpected failure: one line for people, never a stack trace.
    processIo.stderr(`meshwave: internal error: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = ExitCode.Failure;
  },
);
