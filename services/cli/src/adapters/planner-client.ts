import {
  ApiError,
  type ActionResponse,
  type CreatedRollout,
  type FleetView,
  type Inventory,
  type RolloutList,
  type RolloutStatus,
} from '@meshwave/contracts';

/** Stable codes of the errors the CLI shows; exit codes follow them. */
export const ClientErrorCode = {
  Unreachable: 'PLANNER_UNREACHABLE',
  Api: 'API_ERROR',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** The planner could not be reached, or answered with an error body. */
export class PlannerClientError extends Error {
  readonly code: ClientErrorCode;
  readonly status?: number;
  readonly body?: ApiError;

  constructor(
    code: ClientErrorCode,
    message: string,
    options: { status?: number; body?: ApiError; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'PlannerClientError';
    this.code = code;
    if (options.status !== undefined) this.status = options.status;
    if (options.body !== undefined) this.body = options.body;
  }
}

/** A thin typed client of the planner's REST API (`/v1`). */
export class PlannerClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string | undefined,
  ) {}

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = new URL(path, this.baseUrl.endsWith('/') ? this.baseUrl : `${this.baseUrl}/`);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new PlannerClientError(
        ClientErrorCode.Unreachable,
        `cannot reach the planner at ${this.baseUrl} (${cause})`,
        { cause: err },
      );
    }
    const text = await res.text();
    if (!res.ok) {
      const parsed = ApiError.safeParse(safeJson(text));
      const detail = parsed.success ? parsed.data : undefined;
      throw new PlannerClientError(ClientErrorCode.Api, describeHttpError(res.status, detail), {
        status: res.status,
        ...(detail ? { body: detail } : {}),
      });
    }
    return safeJson(text) as T;
  }

  createRollout(specText: string, file?: string): Promise<CreatedRollout> {
    return this.request('POST', 'v1/rollouts', { spec: specText, ...(file ? {} : {}) });
  }
  listRollouts(): Promise<RolloutList> {
    return this.request('GET', 'v1/rollouts');
  }
  rollout(id: string): Promise<RolloutStatus> {
    return this.request('GET', `v1/rollouts/${encodeURIComponent(id)}`);
  }
  act(id: string, action: string, reason?: string): Promise<ActionResponse> {
    return this.request(
      'POST',
      `v1/rollouts/${encodeURIComponent(id)}/${action}`,
      reason === undefined ? {} : { reason },
    );
  }
  exclude(
    id: string,
    units: readonly { cluster: string; namespace: string; kind?: string; name?: string }[],
    reason?: string,
  ): Promise<ActionResponse> {
    return this.request('POST', `v1/rollouts/${encodeURIComponent(id)}/exclude`, {
      units,
      ...(reason === undefined ? {} : { reason }),
    });
  }
  fleet(): Promise<FleetView> {
    return this.request('GET', 'v1/fleet');
  }
  /** replaces the operator's base inventory (admin) */
  putInventory(inventory: Inventory): Promise<void> {
    return this.request('PUT', 'v1/inventory', inventory);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function describeHttpError(status: number, body: ApiError | undefined): string {
  const what =
    status === 401
      ? 'the planner needs a valid token (401): pass --token or set MESHWAVE_TOKEN'
      : status === 403
        ? 'this token may not do that (403)'
        : status === 404
          ? 'not found (404)'
          : status === 409
            ? 'refused in the current phase (409)'
            : `the planner answered ${status}`;
  if (body === undefined) return what;
  const details = body.details.map(
    (d) =>
      `\n  ${[d.line !== undefined ? `${d.line}:${d.column ?? 0}` : '', d.path].filter(Boolean).join(' ')}: ${d.message}`,
  );
  return `${what}: ${body.message}${details.join('')}`;
}
