import { VmAgentError, VmAgentErrorCode } from '../errors.js';
import { HostDesired, type HostReportBody } from '@meshwave/contracts';
import { tracedRequest } from './trace-context.js';

/** How an agent talks to its bridge: over HTTP in production, in process in the embedded demo. */
export interface BridgeClient {
  /** enrolls the host (idempotent for the same token) */
  register(runningVersion: string | null): Promise<void>;
  /** the desired state, or `unchanged` when it still matches `etag` after waiting up to `waitSeconds` */
  desired(etag: string | undefined, waitSeconds: number, signal?: AbortSignal): Promise<HostDesired | 'unchanged'>;
  report(body: HostReportBody): Promise<void>;
}

export interface HttpBridgeClientOptions {
  readonly bridgeUrl: string;
  readonly host: string;
  readonly group: string;
  /** this host's bearer token */
  readonly token: string;
  /** sha256 of `token`, sent at enrollment */
  readonly tokenSha256: string;
  /** the group's enrollment token */
  readonly enrollmentToken?: string;
  readonly requestTimeoutMs?: number;
}

/** The vm-bridge HTTP API as an agent uses it. */
export class HttpBridgeClient implements BridgeClient {
  private readonly base: string;

  constructor(private readonly options: HttpBridgeClientOptions) {
    this.base = options.bridgeUrl.replace(/\/$/, '');
  }

  async register(runningVersion: string | null): Promise<void> {
    if (this.options.enrollmentToken === undefined) return;
    const response = await this.fetch(`/v1/groups/${this.options.group}/hosts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.options.enrollmentToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ host: this.options.host, tokenSha256: this.options.tokenSha256, runningVersion }),
    });
    await this.expectOk(response, 'register');
    await response.arrayBuffer();
  }

  async desired(
    etag: string | undefined,
    waitSeconds: number,
    signal?: AbortSignal,
  ): Promise<HostDesired | 'unchanged'> {
    const response = await this.fetch(
      `/v1/hosts/${this.options.host}/desired?waitSeconds=${waitSeconds}`,
      {
        headers: {
          authorization: `Bearer ${this.options.token}`,
          ...(etag !== undefined ? { 'if-none-match': etag } : {}),
        },
      },
      waitSeconds * 1000,
      signal,
    );
    if (response.status === 304) return 'unchanged';
    await this.expectOk(response, 'desired');
    return HostDesired.parse(await response.json());
  }

  async report(body: HostReportBody): Promise<void> {
    const response = await tracedRequest(
      'POST',
      '/v1/hosts/{host}/report',
      { authorization: `Bearer ${this.options.token}`, 'content-type': 'application/json' },
      (headers) =>
        this.fetch(`/v1/hosts/${this.options.host}/report`, { method: 'POST', headers, body: JSON.stringify(body) }),
    );
    await this.expectOk(response, 'report');
    await response.arrayBuffer();
  }

  private async fetch(pathname: string, init: RequestInit, extraMs = 0, signal?: AbortSignal): Promise<Response> {
    const timeout = AbortSignal.timeout((this.options.requestTimeoutMs ?? 10_000) + extraMs);
    try {
      return await fetch(`${this.base}${pathname}`, {
        ...init,
        signal: signal !== undefined ? AbortSignal.any([timeout, signal]) : timeout,
      });
    } catch (error) {
      throw new VmAgentError(VmAgentErrorCode.BridgeUnreachable, `vm-bridge at ${this.base} unreachable`, {
        cause: error,
        retryable: true,
      });
    }
  }

  private async expectOk(response: Response, what: string): Promise<void> {
    if (response.ok) return;
    const text = await response.text();
    throw new VmAgentError(VmAgentErrorCode.BridgeRejected, `${what}: vm-bridge answered ${response.status}: ${text}`, {
      retryable: response.status >= 500,
      context: { status: response.status },
    });
  }
}
