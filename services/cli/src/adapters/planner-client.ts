import { EventStreamReader, type ServerSentEvent } from './event-stream-reader.js';
import {
  ApiError,
  RolloutEvent,
  type ActionResponse,
  type AuditEntryView,
  type AuditPage,
  type ClusterDetail,
  type TransitionPage,
  type CreatedRollout,
  type FleetView,
  type RevisionsView,
  type Inventory,
  type MeshApplyRequest,
  type MeshApplyResult,
  type PlanResponse,
  type PlanPageQuery,
  type PlanSkippedPage,
  type PlanSummary,
  type PlanWavePage,
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

/** What `POST|DELETE /v1/freeze` answer (the planner's `FreezeStatus`): whether the fleet is frozen, why, by whom. */
export interface FreezeStatus {
  readonly frozen: boolean;
  readonly reason?: string;
  readonly since?: string;
  readonly by?: string;
}

/** A thin typed client of the planner's REST API (`/v1`). */
export class PlannerClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string | undefined,
    /** how long one request may take (a remote planner may be out of reach); default 30 s */
    private readonly requestTimeoutMs = 30_000,
  ) {}

  /** Sends one request; a planner out of reach or an error answer is a `PlannerClientError`. */
  private async send(method: string, path: string, body: unknown, signal: AbortSignal): Promise<Response> {
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
        signal,
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new PlannerClientError(
        ClientErrorCode.Unreachable,
        `cannot reach the planner at ${this.baseUrl} (${cause})`,
        { cause: err },
      );
    }
    if (!res.ok) {
      const parsed = ApiError.safeParse(safeJson(await res.text()));
      const detail = parsed.success ? parsed.data : undefined;
      throw new PlannerClientError(ClientErrorCode.Api, describeHttpError(res.status, detail), {
        status: res.status,
        ...(detail ? { body: detail } : {}),
      });
    }
    return res;
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body, AbortSignal.timeout(this.requestTimeoutMs));
    return safeJson(await res.text()) as T;
  }

  /** The plan the planner would make of a rollout file now, against its inventory (a dry run: nothing created). */
  planRollout(specText: string): Promise<PlanResponse> {
    return this.request('POST', 'v1/plans', { spec: specText });
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
    return this.changeMembership('exclude', id, units, reason);
  }
  /** Excludes units (or namespaces) from a rollout, or includes excluded ones back. */
  changeMembership(
    action: 'exclude' | 'include',
    id: string,
    units: readonly { cluster: string; namespace: string; kind?: string; name?: string }[],
    reason?: string,
  ): Promise<ActionResponse> {
    return this.request('POST', `v1/rollouts/${encodeURIComponent(id)}/${action}`, {
      units,
      ...(reason === undefined ? {} : { reason }),
    });
  }
  fleet(): Promise<FleetView> {
    return this.request('GET', 'v1/fleet');
  }

  /** Every revision with what still uses it and whether it is safe to remove. */
  revisions(): Promise<RevisionsView> {
    return this.request('GET', 'v1/revisions');
  }
  cluster(name: string): Promise<ClusterDetail> {
    return this.request('GET', `v1/clusters/${encodeURIComponent(name)}`);
  }
  /** The fleet-wide audit (or one scope's: a rollout id, `fleet`), one page, newest page first. */
  audit(query: { scope?: string; limit?: number; cursor?: string }): Promise<AuditPage> {
    return this.request('GET', `v1/audit${queryString(query)}`);
  }
  rolloutAudit(id: string): Promise<{ entries: Omit<AuditEntryView, 'id'>[] }> {
    return this.request('GET', `v1/rollouts/${encodeURIComponent(id)}/audit`);
  }
  /** A started rollout's plan without its units: its waves with their counts (ADR 0039). */
  rolloutPlanSummary(id: string): Promise<PlanSummary> {
    return this.request('GET', `v1/rollouts/${encodeURIComponent(id)}/plan`);
  }
  /** A page of wave `wave`'s workloads, units and VM hosts. */
  planWavePage(id: string, wave: number, query: Partial<PlanPageQuery>): Promise<PlanWavePage> {
    return this.request('GET', `v1/rollouts/${encodeURIComponent(id)}/plan/waves/${wave}${queryString(query)}`);
  }
  /** A page of the workloads the plan skipped and of its risks. */
  planSkippedPage(id: string, query: Partial<PlanPageQuery>): Promise<PlanSkippedPage> {
    return this.request('GET', `v1/rollouts/${encodeURIComponent(id)}/plan/skipped${queryString(query)}`);
  }
  transitions(id: string, query: { limit?: number; cursor?: string }): Promise<TransitionPage> {
    return this.request('GET', `v1/rollouts/${encodeURIComponent(id)}/transitions${queryString(query)}`);
  }
  /** Halts every active rollout and holds all dispatch until `unfreeze`; answers whether the fleet is frozen. */
  freeze(reason: string): Promise<FreezeStatus> {
    return this.request('POST', 'v1/freeze', { reason });
  }
  unfreeze(reason: string): Promise<FreezeStatus> {
    return this.request('DELETE', 'v1/freeze', { reason });
  }
  /** Applies a split through the agents (ADR 0049); `dryRun` (the planner's default) only answers the diff. */
  applyMeshSplit(body: MeshApplyRequest): Promise<MeshApplyResult> {
    return this.request('POST', 'v1/meshes/apply', body);
  }
  /**
   * Retries failed units of a rollout on the same target: `units` as the status names them
   * (`cluster/namespace[/Kind/name]`), all failed ones when empty.
   */
  retry(id: string, units: readonly string[], reason: string): Promise<ActionResponse> {
    return this.request('POST', `v1/rollouts/${encodeURIComponent(id)}/retry`, {
      ...(units.length > 0 ? { units } : {}),
      reason,
    });
  }

  /** replaces the operator's base inventory (admin) */
  putInventory(inventory: Inventory): Promise<void> {
    return this.request('PUT', 'v1/inventory', inventory);
  }

  /**
   * Follows `GET /v1/events` (of one rollout, or all) until the planner closes it; leaving the loop over it closes
   * it too. An event this client does not know the shape of is passed on as it came, never dropped.
   */
  async *events(rollout: string | undefined): AsyncGenerator<RolloutEvent | { readonly unknown: ServerSentEvent }> {
    // no timeout: the stream is meant to stay open
    const res = await this.send('GET', `v1/events${queryString({ rollout })}`, undefined, new AbortController().signal);
    if (res.body === null) return;
    const reader = new EventStreamReader();
    const decoder = new TextDecoder();
    for await (const chunk of res.body) {
      for (const sse of reader.push(decoder.decode(chunk as Uint8Array, { stream: true }))) {
        const parsed = RolloutEvent.safeParse(safeJson(sse.data));
        yield parsed.success ? parsed.data : { unknown: sse };
      }
    }
  }
}

function queryString(query: Readonly<Record<string, string | number | undefined>>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
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
