#!/usr/bin/env node
// HTTPS server of the Istio sidecar-injector double. One process serves every revision and every cluster;
// the revision, its proxy version and an optional fault are in the path the webhook registration points at:
//   POST /inject/<revision>/<version>                 inject that revision's sidecar
//   POST /inject/<revision>/<version>/fault/<fault>   same, plus the fault annotation (e.g. crashloop)
//   GET  /healthz                                     200 "ok"
//   GET  /stats                                       {"<revision>": injected pods} since start
// Stateless: marking a revision bad = pointing its webhook at the /fault/ path (see registration.ts).
//   node server.ts --port P --cert server.crt --key server.key
import fs from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { diffPatch, injectSidecar, type InjectParams, type PodLike } from './mutate.ts';

/** The part of an AdmissionReview request the injector reads. */
interface AdmissionRequest {
  readonly uid: string;
  readonly namespace?: string;
  readonly object: PodLike;
}

function arg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0 || !process.argv[i + 1]) throw new Error(`missing --${name}`);
  return process.argv[i + 1]!;
}

const stats: Record<string, number> = {};

function review(request: AdmissionRequest, params: InjectParams): Record<string, unknown> {
  const pod = request.object;
  const injected = injectSidecar(pod, { ...params, namespace: request.namespace });
  const patch = diffPatch(pod, injected);
  if (patch.length > 0) stats[params.revision] = (stats[params.revision] ?? 0) + 1;
  return {
    uid: request.uid,
    allowed: true,
    ...(patch.length > 0
      ? { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') }
      : {}),
  };
}

function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'https://127.0.0.1');
  if (req.method === 'GET' && url.pathname === '/healthz') {
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
    return;
  }
  if (req.method === 'GET' && url.pathname === '/stats') {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(stats));
    return;
  }
  const m = /^\/inject\/([a-z0-9-]+)\/([A-Za-z0-9._-]+)(?:\/fault\/([a-z-]+))?$/.exec(url.pathname);
  if (req.method !== 'POST' || !m) {
    res.writeHead(404).end();
    return;
  }
  const [, revision = '', version = '', fault] = m;
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let body: { request?: AdmissionRequest };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString()) as { request?: AdmissionRequest };
    } catch {
      res.writeHead(400).end('AdmissionReview JSON expected');
      return;
    }
    let response: Record<string, unknown>;
    try {
      if (!body.request) throw new Error('AdmissionReview without a request');
      response = review(body.request, { revision, version, fault: fault ?? null });
    } catch (err) {
      response = {
        uid: body.request?.uid,
        allowed: false,
        status: { code: 500, message: `injection failed: ${err instanceof Error ? err.message : String(err)}` },
      };
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
  });
}

const server = https.createServer({ cert: fs.readFileSync(arg('cert')), key: fs.readFileSync(arg('key')) }, handle);
server.keepAliveTimeout = 30_000;
server.listen(Number(arg('port')), '127.0.0.1', () => {
  process.stdout.write(`injector double listening on https://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
