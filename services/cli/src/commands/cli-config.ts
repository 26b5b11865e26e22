import { homedir } from 'node:os';
import { join } from 'node:path';
import { PlannerClient, PlannerClientError } from '../adapters/planner-client.js';
import { ExitCode, type CommandIo } from '../io.js';

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

/**
 * Runs `fn` with a client of the configured planner. A planner error is one line on stderr: exit 2 when the
 * request was refused (4xx: fix the input, the token, the moment), 1 when the planner failed or was out of reach.
 */
export async function withPlannerClient(
  flags: { planner?: string | undefined; token?: string | undefined },
  io: CommandIo,
  fn: (client: PlannerClient) => Promise<number>,
): Promise<number> {
  const config = await resolveClientConfig(flags, io);
  try {
    return await fn(new PlannerClient(config.plannerUrl, config.token));
  } catch (err) {
    if (err instanceof PlannerClientError) {
      io.stderr(`meshwave: ${err.message}`);
      return err.status !== undefined && err.status >= 400 && err.status < 500
        ? ExitCode.InvalidInput
        : ExitCode.Failure;
    }
    throw err;
  }
}
