// What the vm-agent can be tuned with, and the named steps of an upgrade (fault injection hooks).

/** Named points of an upgrade, reported to `onStep` (tests kill the agent there). */
export const AgentStep = {
  Downloaded: 'downloaded',
  Unpacked: 'unpacked',
  Switched: 'switched',
  Restarted: 'restarted',
  Checking: 'checking',
  Reverted: 'reverted',
} as const;
export type AgentStep = (typeof AgentStep)[keyof typeof AgentStep];

export interface VmAgentSettings {
  /** long-poll wait per desired-version request */
  readonly pollWaitSeconds: number;
  /** heartbeat report period */
  readonly reportIntervalMs: number;
  /** how long a restarted proxy may take to become ready */
  readonly readinessTimeoutMs: number;
  readonly readinessIntervalMs: number;
  /** installed versions kept (current and previous are always kept) */
  readonly keepVersions: number;
  readonly downloadTimeoutMs: number;
  /** wait after a failed bridge request, doubled up to 10 s */
  readonly retryMs: number;
}

export const DEFAULT_AGENT_SETTINGS: VmAgentSettings = {
  pollWaitSeconds: 30,
  reportIntervalMs: 10_000,
  readinessTimeoutMs: 30_000,
  readinessIntervalMs: 500,
  keepVersions: 3,
  downloadTimeoutMs: 300_000,
  retryMs: 500,
};
