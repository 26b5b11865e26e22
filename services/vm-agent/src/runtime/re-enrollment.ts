import type { BridgeClient } from '../adapters/bridge-client.js';
import { VmAgentErrorCode, isVmAgentError } from '../errors.js';

/**
 * Whether the bridge answered that it does not know this host or its token (401, 404): its enrollment is gone, as
 * when the bridge's store lost its data (ADR 0025), and nothing but enrolling again brings it back.
 */
export function isUnknownToBridge(error: unknown): boolean {
  return (
    isVmAgentError(error, VmAgentErrorCode.BridgeRejected) &&
    (error.context.status === 401 || error.context.status === 404)
  );
}

/**
 * The client, enrolling again (idempotent for the same token) when the bridge no longer knows the host, then asking
 * once more. Without it an agent enrolled only at start, and a bridge that lost its hosts' records never heard from
 * them again: their reports were refused and no batch could ever include them.
 */
export function reEnrolling(
  client: BridgeClient,
  runningVersion: () => string | null,
  onReEnroll: (reason: string) => void,
): BridgeClient {
  const again = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      if (!isUnknownToBridge(error)) throw error;
      onReEnroll(error instanceof Error ? error.message : String(error));
      await client.register(runningVersion());
      return call();
    }
  };
  return {
    register: (version) => client.register(version),
    desired: (etag, waitSeconds, signal) => again(() => client.desired(etag, waitSeconds, signal)),
    report: (body) => again(() => client.report(body)),
  };
}
