import { VmHostState, vmGroupKey, type HostRegistrationBody, type HostRegistrationResult } from '@meshwave/contracts';
import type { HostCredential } from '../adapters/group-store.js';
import type { HostRecord } from '../core/batch-decision.js';
import { VmBridgeError, VmBridgeErrorCode } from '../errors.js';
import { requireActive, unknownGroup, type BridgeContext } from './bridge-context.js';
import type { GroupWriter } from './group-writer.js';
import { bearerToken, hashToken, sameDigest } from './host-token.js';

/** What removing a host did. */
export interface HostRemoval {
  readonly host: string;
  readonly group: string;
  readonly result: 'removed' | 'absent';
}

/**
 * Enrollment and host authentication (ADR 0008): hosts enroll and are removed with their group's enrollment token,
 * and every later request carries the host's own bearer token, of which only the sha256 is stored.
 */
export class HostEnrollment {
  constructor(
    private readonly ctx: BridgeContext,
    private readonly writer: GroupWriter,
  ) {}

  /** Enrolls a host into a group (idempotent for the same token hash). */
  async registerHost(
    group: string,
    authorization: string | undefined,
    body: HostRegistrationBody,
  ): Promise<HostRegistrationResult> {
    requireActive(this.ctx);
    this.requireEnrollmentToken(group, authorization, `enrolling into group "${group}"`);
    const known = this.ctx.hosts.get(body.host);
    if (known !== undefined && known.group !== group) {
      throw new VmBridgeError(
        VmBridgeErrorCode.HostConflict,
        `host "${body.host}" is registered in group "${known.group}"`,
        { context: { host: body.host } },
      );
    }
    return this.writer.mutate<HostRegistrationResult>(group, (loaded) => {
      const existing = loaded.credentials.get(body.host);
      if (existing !== undefined) {
        if (!sameDigest(existing.credential.tokenSha256, body.tokenSha256)) {
          throw new VmBridgeError(
            VmBridgeErrorCode.HostConflict,
            `host "${body.host}" is already registered with another token`,
            {
              context: { host: body.host },
            },
          );
        }
        return { outcome: { host: body.host, group, result: 'unchanged' as const } };
      }
      const credential: HostCredential = { tokenSha256: body.tokenSha256, registeredAt: this.ctx.clock.now() };
      const record: HostRecord = loaded.hosts.get(body.host)?.record ?? {
        name: body.host,
        desiredVersion: body.runningVersion,
        previousVersion: body.runningVersion,
        assignment: 0,
        state: VmHostState.Pending,
      };
      return {
        outcome: { host: body.host, group, result: 'created' as const },
        changes: { hosts: [record], credentials: new Map([[body.host, credential]]) },
        audit: {
          actor: `host/${body.host}`,
          action: 'register',
          scope: vmGroupKey(group),
          at: new Date(this.ctx.clock.now()).toISOString(),
        },
      };
    });
  }

  /**
   * Takes a host out of its group (decommissioned, re-imaged, or its token leaked), with the group's enrollment
   * token: whoever may enroll hosts may remove them. Its record and token are deleted, so the token is refused
   * from then on, the host no longer counts against maxUnavailable, and the same name may enroll again with a
   * new token. Removing an absent host changes nothing.
   */
  async removeHost(group: string, host: string, authorization: string | undefined): Promise<HostRemoval> {
    requireActive(this.ctx);
    this.requireEnrollmentToken(group, authorization, `removing a host from group "${group}"`);
    return this.writer.mutate<HostRemoval>(group, (loaded) => {
      if (!loaded.hosts.has(host) && !loaded.credentials.has(host))
        return { outcome: { host, group, result: 'absent' as const } };
      return {
        outcome: { host, group, result: 'removed' as const },
        changes: { removedHosts: [host] },
        audit: {
          actor: `enrollment/${group}`,
          action: 'remove-host',
          scope: vmGroupKey(group),
          at: new Date(this.ctx.clock.now()).toISOString(),
          detail: { host },
        },
      };
    });
  }

  private requireEnrollmentToken(group: string, authorization: string | undefined, what: string): void {
    const config = this.ctx.groups.get(group);
    if (config === undefined) throw unknownGroup(group);
    const token = bearerToken(authorization);
    if (
      token === undefined ||
      config.enrollmentTokenSha256 === undefined ||
      !sameDigest(hashToken(token), config.enrollmentTokenSha256)
    ) {
      throw new VmBridgeError(VmBridgeErrorCode.Unauthenticated, `${what} needs its enrollment token`, {
        context: { group },
      });
    }
  }

  /** Checks that `authorization` is `host`'s own token: 401 when it is nobody's, 403 when it is another host's. */
  authenticateHost(host: string, authorization: string | undefined): void {
    requireActive(this.ctx);
    const token = bearerToken(authorization);
    if (token === undefined) throw new VmBridgeError(VmBridgeErrorCode.Unauthenticated, 'missing bearer token');
    const digest = hashToken(token);
    const entry = this.ctx.hosts.get(host);
    if (entry !== undefined && sameDigest(entry.tokenSha256, digest)) return;
    const tokenHost = this.ctx.hosts.hostOfToken((tokenSha256) => sameDigest(tokenSha256, digest));
    if (tokenHost !== undefined) {
      throw new VmBridgeError(
        VmBridgeErrorCode.Forbidden,
        `this token belongs to another host and may not act for host "${host}"`,
        { context: { host, tokenHost } },
      );
    }
    throw new VmBridgeError(VmBridgeErrorCode.Unauthenticated, 'unknown bearer token');
  }
}
