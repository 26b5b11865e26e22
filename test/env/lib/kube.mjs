export async function ensureKubeBinaries() { throw new Error('todo'); }
export async function upCluster() { throw new Error('todo'); }
export async function downCluster() {}
export async function clusterStatus() { return { healthy: false }; }
