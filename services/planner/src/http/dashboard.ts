import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * The dashboard (ADR 0037): Preact and htm as ES modules, run by the browser as they are (no build step, no CDN),
 * from the planner's own files: the page and its modules from `web/`, Preact and htm from the planner's
 * dependencies. The page holds no data and needs no token; it reads the API with the person's token, which it asks
 * for once and keeps in the tab's session storage, and reloads what the event stream says changed.
 */
const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

/** The vendored modules the page's import map names, by the file name it asks for. */
const VENDOR: Readonly<Record<string, string>> = {
  'preact.mjs': 'preact',
  'hooks.mjs': 'preact/hooks',
  'htm.mjs': 'htm',
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

interface Asset {
  readonly body: string;
  readonly type: string;
}

function asset(file: string): Asset {
  return { body: readFileSync(file, 'utf8'), type: CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream' };
}

/** The page's own files (tests and the page itself left out), read once: they change only with a new build. */
function webAssets(): Map<string, Asset> {
  const files = readdirSync(WEB_DIR).filter((f) => /\.(js|css)$/.test(f) && !f.endsWith('.test.js'));
  return new Map(files.map((f) => [f, asset(path.join(WEB_DIR, f))]));
}

function vendorAssets(): Map<string, Asset> {
  return new Map(
    Object.entries(VENDOR).map(([file, specifier]) => [file, asset(fileURLToPath(import.meta.resolve(specifier)))]),
  );
}

/**
 * The page's Content-Security-Policy: scripts and styles from the planner only, plus the page's one inline script
 * (its import map), allowed by its hash; connections to the planner only (the API and the event stream).
 */
export function contentSecurityPolicy(page: string): string {
  const inline = [...page.matchAll(/<script type="importmap">([\s\S]*?)<\/script>/g)].map(
    (m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`,
  );
  return [
    "default-src 'none'",
    `script-src 'self' ${inline.join(' ')}`,
    "style-src 'self'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function registerDashboard(app: FastifyInstance): void {
  const page = readFileSync(path.join(WEB_DIR, 'index.html'), 'utf8');
  const csp = contentSecurityPolicy(page);
  const web = webAssets();
  const vendor = vendorAssets();
  const send = (found: Asset | undefined, reply: FastifyReply) => {
    if (found === undefined) return reply.status(404).type('text/plain').send('not found');
    return reply
      .type(found.type)
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .send(found.body);
  };
  app.get('/', { schema: { hide: true } }, async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('content-security-policy', csp)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(page),
  );
  app.get<{ Params: { file: string } }>('/ui/:file', { schema: { hide: true } }, async (request, reply) =>
    send(web.get(request.params.file), reply),
  );
  app.get<{ Params: { file: string } }>('/ui/vendor/:file', { schema: { hide: true } }, async (request, reply) =>
    send(vendor.get(request.params.file), reply),
  );
}
