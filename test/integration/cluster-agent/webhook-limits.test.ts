// The admission webhook's exposure (ADR 0038): with a client CA only the apiserver's certificate is answered; a
// body over the limit is refused before it is read whole; reviews beyond the concurrency cap get 429 at once.
// Only openssl and a local HTTPS server: no test environment.
import fs from 'node:fs';
import type { ClientRequest } from 'node:http';
import { request } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startWebhookServer, type WebhookServer } from '@meshwave/cluster-agent';
import { issueCert, newCa, newServingCertFiles } from '../../support/certificates.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshwave-webhook-limits-'));
newServingCertFiles(dir, { caCn: 'serving-ca', cn: '127.0.0.1', days: 1 });
newCa(dir, 'apiserver-clients', 'apiserver-client-ca', 1);
newCa(dir, 'other', 'another-ca', 1);
const apiserver = issueCert(dir, { ca: 'apiserver-clients', name: 'apiserver', cn: 'kube-apiserver', usage: 'client' });
const stranger = issueCert(dir, { ca: 'other', name: 'stranger', cn: 'kube-apiserver', usage: 'client' });
const read = (f: string): string => fs.readFileSync(path.isAbsolute(f) ? f : path.join(dir, f), 'utf8');
const servers: WebhookServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const assignments = { revisionFor: () => undefined };
const review = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u1' } });

async function start(options: { clientCa?: boolean; maxConcurrent?: number } = {}): Promise<WebhookServer> {
  const server = await startWebhookServer({
    assignments,
    cert: read('server.crt'),
    key: read('server.key'),
    ...(options.clientCa ? { clientCa: read('apiserver-clients.crt') } : {}),
    ...(options.maxConcurrent !== undefined ? { maxConcurrent: options.maxConcurrent } : {}),
    port: 0,
    host: '127.0.0.1',
  });
  servers.push(server);
  return server;
}

/** A POST /mutate, its body written as given and ended unless `hold`; resolves with the status or the TLS error. */
function post(
  server: WebhookServer,
  body: string | Buffer,
  options: { client?: { cert: string; key: string }; hold?: boolean; length?: number } = {},
): { req: ClientRequest; result: Promise<number | string> } {
  let req!: ClientRequest;
  const result = new Promise<number | string>((resolve) => {
    req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path: '/mutate',
        method: 'POST',
        ca: read('ca.crt'),
        headers: { 'content-type': 'application/json', 'content-length': options.length ?? Buffer.byteLength(body) },
        ...(options.client ? { cert: read(options.client.cert), key: read(options.client.key) } : {}),
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.write(body);
    if (!options.hold) req.end();
  });
  return { req, result };
}

describe('admission webhook exposure', () => {
  it('Given a client CA, Then the apiserver certificate is answered, and a caller without one, or with another CA, is refused in the handshake', async () => {
    const server = await start({ clientCa: true });
    expect(await post(server, review, { client: apiserver }).result).toBe(200);
    expect(await post(server, review).result).not.toBe(200);
    expect(await post(server, review, { client: stranger }).result).not.toBe(200);
  });

  it('Given a body over the limit, Then it is refused with 413 without being read', async () => {
    const server = await start();
    expect(await post(server, review, { length: 8 * 1024 * 1024, hold: true }).result).toBe(413);
    expect(await post(server, review).result).toBe(200);
  });

  it('Given reviews in flight up to the cap, Then one more is answered 429 at once, and a slot freed is taken again', async () => {
    const server = await start({ maxConcurrent: 2 });
    const held = [
      post(server, '{"request":', { length: 200, hold: true }),
      post(server, '{"request":', { length: 200, hold: true }),
    ];
    // the two held requests are in flight once the server has read their headers: a third is refused until then
    let third: number | string = 200;
    for (let i = 0; i < 100 && third !== 429; i++) third = await post(server, review).result;
    expect(third).toBe(429);
    held[0]!.req.destroy();
    let after: number | string = 429;
    for (let i = 0; i < 100 && after !== 200; i++) after = await post(server, review).result;
    expect(after).toBe(200);
    held[1]!.req.destroy();
  });
});
