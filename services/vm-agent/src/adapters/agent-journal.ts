import { writeFileAtomic } from './atomic-file.js';
import { nodeHostFiles, type HostFiles } from './host-files.js';

/** An installed version: its directory under `versions/` and the bundle digest it came from. */
export interface InstalledVersion {
  readonly version: string;
  readonly sha256: string;
  /** directory name under `versions/` */
  readonly dir: string;
}

/**
 * Where the agent is in an upgrade. Written atomically before each step, so that after a kill the agent
 * knows what to finish or undo:
 * - idle: `current` points at `running`, nothing in progress;
 * - installing: downloading/unpacking `target`; `current` untouched (restart: drop the partial files);
 * - switching: `current` may point at `target` or `previous`, proxy may run either (restart: redo switch,
 *   restart and check);
 * - reverting: going back to `previous` after `target` failed (restart: redo the revert).
 */
export const JournalPhase = {
  Idle: 'idle',
  Installing: 'installing',
  Switching: 'switching',
  Reverting: 'reverting',
} as const;
export type JournalPhase = (typeof JournalPhase)[keyof typeof JournalPhase];

export interface UpgradeTarget extends InstalledVersion {
  readonly assignment: number;
  readonly configDigest: string;
}

export interface AgentJournal {
  readonly phase: JournalPhase;
  /** what `current` points at when idle; null before the first install */
  readonly running: InstalledVersion | null;
  readonly target?: UpgradeTarget;
  /** what to go back to if `target` fails */
  readonly previous?: InstalledVersion | null;
  /** the last assignment that failed here; not retried (the bridge reassigns to retry) */
  readonly failed?: {
    readonly version: string;
    readonly sha256: string;
    readonly assignment: number;
    readonly reason: string;
  };
  /** the last assignment acted on, echoed in reports */
  readonly assignment?: number;
}

export const EMPTY_JOURNAL: AgentJournal = { phase: JournalPhase.Idle, running: null };

export async function readJournal(file: string, fs: HostFiles = nodeHostFiles): Promise<AgentJournal | undefined> {
  try {
    return JSON.parse(await fs.readFile(file)) as AgentJournal;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export async function writeJournal(file: string, journal: AgentJournal, fs: HostFiles = nodeHostFiles): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(journal, null, 2)}\n`, undefined, fs);
}
