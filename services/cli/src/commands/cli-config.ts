import { homedir } from 'node:os';
import { join } from 'node:path';
import type { CommandIo } from '../io.js';

export const DEFAULT_PLANNER_URL = 'http://127.0.0.1:8080';

export interface ClientConfig {
  readonly plannerUrl: string;
  readonly token?: string;
}

/**
 * Planner URL and token, first found wins: flags, environment (`MESHWAVE_PLANNER_URL`, `MESHWAVE_TOKEN`),
 * the config file (`MESHWAVE_CONFIG` or `~/.config/meshwave/config.json`: `{ "plannerUrl", "token" }`), the default.
 */
export async function resolveClientConfig(
  flags: { planner?: string | undefined; token?: string | undefined },
  io: CommandIo,
): Promise<ClientConfig> {
  let file: { plannerUrl?: string; token?: string } = {};
  const path = io.env.MESHWAVE_CONFIG ?? join(io.env.HOME ?? homedir(), '.config', 'meshwave', 'config.json');
  try {
    file = JSON.parse(await io.readFile(path)) as typeof file;
  } catch {
    // no config file: flags and environment only
  }
  const token = flags.token ?? io.env.MESHWAVE_TOKEN ?? file.token;
  return {
    plannerUrl: flags.planner ?? io.env.MESHWAVE_PLANNER_URL ?? file.plannerUrl ?? DEFAULT_PLANNER_URL,
    ...(token === undefined ? {} : { token }),
  };
}
