import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ObjectName } from '@meshwave/contracts';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { VmAgentError, VmAgentErrorCode } from '../errors.js';

/** The vm-agent configuration file (YAML or JSON); every field can be overridden by a flag. */
export const VmAgentConfig = z.strictObject({
  host: ObjectName,
  group: ObjectName,
  bridgeUrl: z.url(),
  /** versions/, current, journal.json, host token */
  stateDir: z.string().min(1).default('/var/lib/meshwave-vm-agent'),
  /** the group's enrollment token, read once to enroll; or set MESHWAVE_ENROLLMENT_TOKEN */
  enrollmentTokenFile: z.string().optional(),
  /** this host's own bearer token; created (0600) when missing */
  tokenFile: z.string().optional(),
  readinessUrl: z.url().default('http://127.0.0.1:15021/healthz/ready'),
  readinessTimeoutSeconds: z.number().positive().default(30),
  readinessIntervalMs: z.number().int().positive().default(500),
  pollWaitSeconds: z.number().int().min(1).max(120).default(30),
  reportIntervalSeconds: z.number().positive().default(10),
  keepVersions: z.number().int().min(2).default(3),
  downloadTimeoutSeconds: z.number().positive().default(300),
  proxy: z
    .strictObject({
      /** `child`: the agent runs and supervises the proxy; `systemd`: the agent restarts a unit */
      runner: z.enum(['child', 'systemd']).default('child'),
      /** program inside the bundle (child runner) */
      command: z.string().default('bin/istio-proxy'),
      args: z.array(z.string()).default([]),
      env: z.record(z.string(), z.string()).default({}),
      logFile: z.string().optional(),
      systemdUnit: z.string().default('istio-proxy.service'),
    })
    .prefault({}),
});
export type VmAgentConfig = z.infer<typeof VmAgentConfig>;

export const AGENT_USAGE = `usage: meshwave-vm-agent [--config FILE] [--host NAME] [--group NAME] [--bridge-url URL]
  [--state-dir DIR] [--enrollment-token-file FILE] [--token-file FILE] [--readiness-url URL]
  [--readiness-timeout-seconds N] [--poll-wait-seconds N] [--report-interval-seconds N] [--keep-versions N]
  [--runner child|systemd] [--proxy-command PATH] [--proxy-log-file FILE] [--systemd-unit UNIT]`;

/** Reads `--config` (if any) and applies the flags on top; throws INVALID_CONFIG saying which field. */
export async function loadAgentConfig(argv: readonly string[]): Promise<VmAgentConfig> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string' },
        host: { type: 'string' },
        group: { type: 'string' },
        'bridge-url': { type: 'string' },
        'state-dir': { type: 'string' },
        'enrollment-token-file': { type: 'string' },
        'token-file': { type: 'string' },
        'readiness-url': { type: 'string' },
        'readiness-timeout-seconds': { type: 'string' },
        'poll-wait-seconds': { type: 'string' },
        'report-interval-seconds': { type: 'string' },
        'keep-versions': { type: 'string' },
        runner: { type: 'string' },
        'proxy-command': { type: 'string' },
        'proxy-log-file': { type: 'string' },
        'systemd-unit': { type: 'string' },
      },
      strict: true,
    }));
  } catch (err) {
    // an unknown or malformed flag: say so with the usage, never a stack trace
    throw new VmAgentError(VmAgentErrorCode.InvalidConfig, `${(err as Error).message}\n${AGENT_USAGE}`, {
      cause: err,
    });
  }
  let file: Record<string, unknown> = {};
  if (values.config !== undefined) {
    const text = await fs.readFile(values.config, 'utf8');
    file = (parseYaml(text) as Record<string, unknown> | null) ?? {};
  }
  const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
  const proxy = { ...(file.proxy as Record<string, unknown> | undefined) };
  const set = (o: Record<string, unknown>, k: string, v: unknown): void => {
    if (v !== undefined) o[k] = v;
  };
  set(proxy, 'runner', values.runner);
  set(proxy, 'command', values['proxy-command']);
  set(proxy, 'logFile', values['proxy-log-file']);
  set(proxy, 'systemdUnit', values['systemd-unit']);
  const merged: Record<string, unknown> = { ...file, proxy };
  set(merged, 'host', values.host);
  set(merged, 'group', values.group);
  set(merged, 'bridgeUrl', values['bridge-url']);
  set(merged, 'stateDir', values['state-dir']);
  set(merged, 'enrollmentTokenFile', values['enrollment-token-file']);
  set(merged, 'tokenFile', values['token-file']);
  set(merged, 'readinessUrl', values['readiness-url']);
  set(merged, 'readinessTimeoutSeconds', num(values['readiness-timeout-seconds']));
  set(merged, 'pollWaitSeconds', num(values['poll-wait-seconds']));
  set(merged, 'reportIntervalSeconds', num(values['report-interval-seconds']));
  set(merged, 'keepVersions', num(values['keep-versions']));
  const parsed = VmAgentConfig.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`).join('; ');
    throw new VmAgentError(VmAgentErrorCode.InvalidConfig, `invalid vm-agent configuration: ${problems}`);
  }
  const config = parsed.data;
  return { ...config, stateDir: path.resolve(config.stateDir) };
}
