// Options of a script run by hand (the benchmarks): `--name value` pairs on its command line.

/** The value after `--name`, or undefined when the option is absent; an option without its value throws. */
export function optionValue(name: string, argv: readonly string[] = process.argv): string | undefined {
  const at = argv.indexOf(name);
  if (at < 0) return undefined;
  const value = argv[at + 1];
  if (value === undefined) throw new Error(`${name} needs a value`);
  return value;
}
