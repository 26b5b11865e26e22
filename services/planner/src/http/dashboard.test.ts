import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { registerDashboard } from './dashboard.js';

describe('dashboard', () => {
  it('serves one page that reads the API with the operator token and holds no data itself', async () => {
    const app = Fastify();
    registerDashboard(app);
    const res = await app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toContain("api('/v1/rollouts')");
    expect(res.body).toContain("api('/v1/fleet')");
    expect(res.body).toContain("'Bearer ' + token");
    // the token never goes into a URL (ADR 0014)
    expect(res.body).not.toContain('access_token');
    await app.close();
  });
});
