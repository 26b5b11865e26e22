export async function upInjector() { throw new Error('todo'); }
export async function downInjector() {}
export async function injectorStatus() { return { healthy: false }; }
