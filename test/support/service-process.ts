// One meshwave service as an operator runs it: its committed bin (services/*/bin/*.js) spawned as an OS process
// with only the environment and flags given (nothing leaks in from the test runner), its JSON log kept in a file
// and in memory, so tests and observers read what the process itself said.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from './eventually.ts';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The bins of README's "Run it for real", relative to the repository root. */
export const ServiceBin = {
  planner: 'services/planner/bin/meshwave-planner.js',
  clusterAgent: 'services/cluster-agent/bin/meshwave-cluster-agent.js',
  vmBridge: 'services/vm-bridge/bin/meshwave-vm-bridge.js',
  vmAgent: 'services/vm-agent/bin/meshwave-vm-agent.js',
} as const;
export type ServiceBin = (typeof ServiceBin)[keyof typeof ServiceBin];

/** One line the process logged, parsed when it is JSON (pino), with when the test saw it. */
export interface LogLine {
  readonly at: number;
  readonly text: string;
  readonly json?: Readonly<Record<string, unknown>>;
}

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ServiceProcessOptions {
  readonly name: string;
  readonly bin: ServiceBin;
  readonly args?: readonly string[];
  /** the whole environment of the process, besides PATH and HOME */
  readonly env: Readonly<Record<string, string>>;
  /** every line is appended here (one file per process name, kept across restarts) */
  readonly logFile: string;
}

export class ServiceProcess {
  readonly lines: LogLine[] = [];
  private current!: ChildProcess;
  private exit!: Promise<ProcessExit>;
  private exitValue: ProcessExit | undefined;
  private readonly out: fs.WriteStream;

  // a declared field, not a parameter property: the benchmarks import this file and Node strips types only
  readonly options: ServiceProcessOptions;

  constructor(options: ServiceProcessOptions) {
    this.options = options;
    fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
    this.out = fs.createWriteStream(options.logFile, { flags: 'a' });
    this.launch();
  }

  get name(): string {
    return this.options.name;
  }

  get pid(): number | undefined {
    return this.current.pid;
  }

  alive(): boolean {
    return this.exitValue === undefined;
  }

  /** resolves when the current process has exited */
  exited(): Promise<ProcessExit> {
    return this.exit;
  }

  /** Starts the process again (after it exited), with the same options; lines are kept. */
  restart(): void {
    if (this.alive()) throw new Error(`${this.name} is still running`);
    this.launch();
  }

  /** Sends `signal` (SIGKILL by default) and, unless it only pauses or resumes the process, waits for its exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ProcessExit | undefined> {
    if (!this.alive()) return this.exitValue;
    this.current.kill(signal);
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') return undefined;
    return this.exit;
  }

  /** The first line (from `from` on) matching `pattern`, waited for while the process lives. */
  async waitForLine(pattern: RegExp, timeoutMs = 90_000, from = 0): Promise<LogLine> {
    return eventually(
      `${this.name}: a log line matching ${pattern}`,
      () => this.lines.slice(from).find((l) => pattern.test(l.text)),
      { timeoutMs, alive: () => this.alive() },
    );
  }

  /** JSON lines whose `msg` is `msg`. */
  messages(msg: string): Readonly<Record<string, unknown>>[] {
    return this.lines.flatMap((l) => (l.json?.['msg'] === msg ? [l.json] : []));
  }

  tail(n = 15): string {
    return this.lines
      .slice(-n)
      .map((l) => l.text)
      .join('\n');
  }

  private launch(): void {
    const o = this.options;
    this.exitValue = undefined;
    const child = spawn(process.execPath, [path.join(repoRoot, o.bin), ...(o.args ?? [])], {
      cwd: repoRoot,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.current = child;
    let pending = '';
    const onData = (chunk: Buffer): void => {
      pending += chunk.toString();
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const text of parts) {
        if (text.trim() === '') continue;
        this.out.write(`${text}\n`);
        let json: Record<string, unknown> | undefined;
        if (text.startsWith('{'))
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            json = undefined;
          }
        this.lines.push({ at: Date.now(), text, ...(json ? { json } : {}) });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    this.exit = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exitValue = { code, signal };
        this.out.write(`# ${this.name} exited: code ${code} signal ${signal}\n`);
        resolve(this.exitValue);
      }),
    );
  }

  /** Kills the process (if alive) and closes its log file. */
  async close(): Promise<void> {
    if (this.alive()) {
      this.current.kill('SIGCONT');
      await this.kill('SIGKILL');
    }
    await new Promise<void>((resolve) => this.out.end(() => resolve()));
  }
}
