import { createServer, type Server } from 'node:https';
import type { IncomingMessage as HttpRequest, ServerResponse } from 'node:http';
import type { Logger } from '@meshwave/telemetry';
import { silentLogger } from '@meshwave/telemetry';
import type { AssignmentSource } from '../ports/assignment-source.js';
import { reviewAdmission, type AdmissionReviewRequest } from './admission-webhook.js';

export interface WebhookServerOptions {
  readonly assignments: AssignmentSource;
  /** PEM serving certificate and key */
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  /**
   * PEM CA of the client certificate the apiserver presents (its admission `kubeConfigFile`): when set, the TLS
   * handshake refuses any caller without a certificate from it. Unset: the webhook is reachable only through its
   * Service (the chart's NetworkPolicy), and anything that reaches it gets an answer.
   */
  readonly clientCa?: string | Buffer;
  readonly port: number;
  /** default 0.0.0.0 in clusters; tests bind 127.0.0.1 */
  readonly host?: string;
  readonly logger?: Logger;
  /** counts admissions by outcome (for /metrics) */
  readonly onAdmission?: (outcome: 'patched' | 'unchanged' | 'error' | 'refused') => void;
  /** AdmissionReviews handled at once; more get 429 (the apiserver then admits unchanged: failurePolicy Ignore) */
  readonly maxConcurrent?: number;
}

export interface WebhookServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The largest AdmissionReview taken: the apiserver's own limit on a request body is 3 MiB, so a review of any
 * object it accepted fits; a larger body is not from it, and is refused (413) before it is read whole.
 */
export const WEBHOOK_MAX_BODY_BYTES = 3 * 1024 * 1024 + 64 * 1024;
/** Reviews in flight at once: each is a few ms of CPU; a flood beyond this is answered 429 at once, not queued. */
export const WEBHOOK_MAX_CONCURRENT = 32;

/** HTTPS server: POST /mutate (AdmissionReview), GET /healthz. */
export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const log = options.logger ?? silentLogger();
  const maxConcurrent = options.maxConcurrent ?? WEBHOOK_MAX_CONCURRENT;
  let inFlight = 0;
  const refuse = (res: ServerResponse, status: number, why: string): void => {
    options.onAdmission?.('refused');
    res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' }).end(why);
  };
  const handle = (req: HttpRequest, res: ServerResponse): void => {
    if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    if (req.method !== 'POST' || !req.url?.startsWith('/mutate')) {
      res.writeHead(404).end();
      return;
    }
    if (Number(req.headers['content-length'] ?? 0) > WEBHOOK_MAX_BODY_BYTES) {
      refuse(res, 413, `an AdmissionReview is at most ${WEBHOOK_MAX_BODY_BYTES} bytes`);
      return;
    }
    if (inFlight >= maxConcurrent) {
      refuse(res, 429, `${maxConcurrent} admission reviews are in flight`);
      return;
    }
    inFlight++;
    res.once('close', () => inFlight--);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= WEBHOOK_MAX_BODY_BYTES) chunks.push(c);
      else if (!res.headersSent) {
        // a chunked body past the limit: refused as soon as it is, the rest is not read
        refuse(res, 413, `an AdmissionReview is at most ${WEBHOOK_MAX_BODY_BYTES} bytes`);
        req.destroy();
      }
    });
    req.on('end', () => {
      if (res.headersSent) return;
      answer(Buffer.concat(chunks), res);
    });
  };
  const answer = (body: Buffer, res: ServerResponse): void => {
    let uid = '';
    try {
      const review = JSON.parse(body.toString('utf8')) as { request?: AdmissionReviewRequest };
      uid = review.request?.uid ?? '';
      const reviewed = reviewAdmission(review, options.assignments);
      options.onAdmission?.((reviewed.response as { patch?: string }).patch ? 'patched' : 'unchanged');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reviewed));
    } catch (err) {
      // Never block a pod because of us: allow unchanged; the periodic reconcile fixes what this missed.
      log.warn({ err }, 'admission review failed; allowing unchanged');
      options.onAdmission?.('error');
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          response: { uid, allowed: true },
        }),
      );
    }
  };
  const tls =
    options.clientCa === undefined
      ? { cert: options.cert, key: options.key }
      : { cert: options.cert, key: options.key, ca: options.clientCa, requestCert: true, rejectUnauthorized: true };
  const server: Server = createServer(tls, handle);
  // a client that opens a request and stalls holds a slot: it is cut after these
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
