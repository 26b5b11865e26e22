import { Argument, Command } from 'commander';
import { ExitCode } from '../io.js';
import { addExamples, type CliContext } from './cli-options.js';

/** What completion needs of a command: its name, summary, and its visible flags with whether each takes a value. */
interface CompletionEntry {
  readonly name: string;
  readonly summary: string;
  readonly flags: readonly { readonly names: readonly string[]; readonly takesValue: boolean; readonly help: string }[];
}

function entriesOf(program: Command): CompletionEntry[] {
  return program.commands.map((c) => ({
    name: c.name(),
    summary: c.description(),
    flags: [
      ...c.options
        .filter((o) => !o.hidden)
        .map((o) => ({
          names: [o.short, o.long].filter((n): n is string => n !== undefined),
          takesValue: o.required || o.optional,
          help: o.description,
        })),
      { names: ['-h', '--help'], takesValue: false, help: 'display help for command' },
    ],
  }));
}

const quoteSingle = (text: string): string => text.replace(/'/g, `'\\''`);

/** bash: commands, then each command's flags; files for everything else (`complete -o default`). */
export function bashCompletion(program: Command): string {
  const entries = entriesOf(program);
  const cases = entries.map((e) => `    ${e.name}) flags='${e.flags.flatMap((f) => f.names).join(' ')}' ;;`).join('\n');
  return `# meshwave completion for bash: eval "$(meshwave completion bash)" (e.g. in ~/.bashrc)
_meshwave() {
  local cur=\${COMP_WORDS[COMP_CWORD]} flags=''
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W '${entries.map((e) => e.name).join(' ')} help' -- "$cur"))
    return
  fi
  case "\${COMP_WORDS[1]}" in
${cases}
  esac
  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$flags" -- "$cur")); else COMPREPLY=(); fi
}
complete -o default -F _meshwave meshwave
`;
}

const zshEscape = (text: string): string => quoteSingle(text.replace(/[[\]:]/g, (c) => `\\${c}`));

/** zsh: commands with their summaries, each command's flags with their help; files for values and arguments. */
export function zshCompletion(program: Command): string {
  const entries = entriesOf(program);
  const commands = entries.map((e) => `    '${e.name}:${zshEscape(e.summary)}'`).join('\n');
  const cases = entries
    .map((e) => {
      const specs = e.flags.flatMap((f) =>
        f.names.map((n) => `'${n}[${zshEscape(f.help)}]${f.takesValue ? ':value:_files' : ''}'`),
      );
      return `    ${e.name}) _arguments ${[...specs, "'*:file:_files'"].join(' ')} ;;`;
    })
    .join('\n');
  return `#compdef meshwave
# meshwave completion for zsh: eval "$(meshwave completion zsh)" (e.g. in ~/.zshrc, after compinit)
_meshwave() {
  local -a commands
  commands=(
${commands}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  local cmd=$words[2]
  shift words
  (( CURRENT-- ))
  case $cmd in
${cases}
  esac
}
compdef _meshwave meshwave
`;
}

/** `meshwave completion bash|zsh`: a script completing commands and flags, generated from the commands themselves. */
export function completionCommand(ctx: CliContext, program: Command): Command {
  const cmd = new Command('completion')
    .description('print a shell completion script (bash or zsh)')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh']));
  addExamples(cmd, [
    'eval "$(meshwave completion bash)"   # in ~/.bashrc',
    'eval "$(meshwave completion zsh)"    # in ~/.zshrc, after compinit',
  ]);
  return cmd.action((shell: 'bash' | 'zsh') => {
    ctx.io.stdout(shell === 'bash' ? bashCompletion(program) : zshCompletion(program));
    ctx.exit = ExitCode.Ok;
  });
}
