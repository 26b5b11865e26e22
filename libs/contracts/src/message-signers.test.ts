import { describe, expect, it } from 'vitest';
import { Principal, requiredSigner } from './message-signers.js';
import { clusterKey, MessageType, type MessageData } from './messages.js';

/** One message of each type, as its rightful sender (`c1`'s agent, the planner or the vm-bridge) would send it. */
const samples: { readonly [T in MessageType]: { readonly data: unknown; readonly signer: string } } = {
  [MessageType.ClusterDesiredState]: { data: { cluster: 'c1' }, signer: Principal.Planner },
  [MessageType.VmGroupDesiredState]: { data: { group: 'g1' }, signer: Principal.Planner },
  [MessageType.Halt]: { data: { target: 'c1' }, signer: Principal.Planner },
  [MessageType.InventoryResync]: { data: { cluster: 'c1', reason: 'gap' }, signer: Principal.Planner },
  [MessageType.Inventory]: { data: { cluster: 'c1' }, signer: clusterKey('c1') },
  [MessageType.InventoryDelta]: { data: { cluster: 'c1' }, signer: clusterKey('c1') },
  [MessageType.UnitProgress]: { data: { cluster: 'c1' }, signer: clusterKey('c1') },
  [MessageType.VmProgress]: { data: { group: 'g1' }, signer: Principal.VmBridge },
  [MessageType.Health]: { data: { source: clusterKey('c1') }, signer: clusterKey('c1') },
  [MessageType.Heartbeat]: { data: { source: clusterKey('c1') }, signer: clusterKey('c1') },
  [MessageType.CommandRejected]: { data: { source: clusterKey('c1') }, signer: clusterKey('c1') },
  [MessageType.MeshSplit]: { data: { cluster: 'c1' }, signer: Principal.Planner },
  [MessageType.UnitProgressDelta]: { data: { cluster: 'c1' }, signer: clusterKey('c1') },
  [MessageType.HealthDelta]: { data: { source: clusterKey('c1') }, signer: clusterKey('c1') },
  [MessageType.VmProgressDelta]: { data: { group: 'g1' }, signer: Principal.VmBridge },
  [MessageType.VmInventory]: { data: { group: 'g1' }, signer: Principal.VmBridge },
};

describe('requiredSigner (ADR 0038)', () => {
  it.each(Object.values(MessageType))('names the one principal that may sign %s', (type) => {
    const sample = samples[type];
    expect(sample, `no sample for ${type}`).toBeDefined();
    expect(requiredSigner(type, sample.data as MessageData<typeof type>)).toBe(sample.signer);
  });

  it("binds an agent's inventory delta and refusals to the cluster they name, and heartbeats to their sender", () => {
    expect(requiredSigner(MessageType.InventoryDelta, { cluster: 'c2' } as never)).toBe(clusterKey('c2'));
    expect(requiredSigner(MessageType.CommandRejected, { source: 'vm-bridge/g1' } as never)).toBe(Principal.VmBridge);
    expect(requiredSigner(MessageType.Heartbeat, { source: 'planner/replica-0' } as never)).toBe(Principal.Planner);
    expect(requiredSigner(MessageType.Heartbeat, { source: clusterKey('c2') } as never)).toBe(clusterKey('c2'));
  });
});
