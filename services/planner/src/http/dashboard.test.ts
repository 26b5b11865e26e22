import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerDashboard } from './dashboard.js';

const app = Fastify();

beforeAll(() => registerDashboard(app));
afterAll(() => app.close());

describe('dashboard', () => {
  it('serves the page and its modules from the planner itself: no CDN, a strict content security policy', async () => {
    const res = await app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toContain('<script type="module" src="/ui/app.js">');
    expect(res.body).not.toMatch(/https?:\/\//);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+';/);
    expect(csp).not.toContain('unsafe-inline');
  });

  it('serves every module the page imports, Preact and htm vendored from the dependencies', async () => {
    for (const url of [
      '/ui/app.js',
      '/ui/api.js',
      '/ui/model.js',
      '/ui/styles.css',
      '/ui/vendor/preact.mjs',
      '/ui/vendor/hooks.mjs',
      '/ui/vendor/htm.mjs',
    ]) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.body.length, url).toBeGreaterThan(100);
    }
    expect((await app.inject({ method: 'GET', url: '/ui/vendor/hooks.mjs' })).body).toContain('from"preact"');
    expect((await app.inject({ method: 'GET', url: '/ui/../package.json' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/ui/model.test.js' })).statusCode).toBe(404);
  });

  it('keeps the token out of URLs except the event stream, which EventSource cannot give a header (ADR 0014)', async () => {
    const api = (await app.inject({ method: 'GET', url: '/ui/api.js' })).body;
    expect(api).toContain('authorization: `Bearer ${token}`');
    expect(api.match(/access_token=/g)).toHaveLength(1);
    expect(api).toContain('/v1/events?access_token=');
  });
});
