import { createLogger } from '@meshwave/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, newPlannerApi, type PlannerApi } from '../../../../test/support/planner-api.js';
import { redactUrl } from './log-redaction.js';

const logLines: string[] = [];
let api: PlannerApi;

beforeAll(async () => {
  api = await newPlannerApi({
    logger: createLogger({ service: 'planner', level: 'info', destination: { write: (line) => logLines.push(line) } }),
  });
});

afterAll(async () => {
  await api.close();
});

/** `METHOD /path` of every documented /v1 route, with its path parameters filled in by `param`. */
async function v1Routes(param: (name: string) => string): Promise<{ method: string; url: string }[]> {
  const doc = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json<{
    paths: Record<string, Record<string, unknown>>;
  }>();
  return Object.entries(doc.paths)
    .filter(([path]) => path.startsWith('/v1/'))
    .flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => ({
        method: method.toUpperCase(),
        url: path.replace(/\{(\w+)\}/g, (_, name: string) => param(name)),
      })),
    );
}

describe('the query token', () => {
  it('Given a valid token in ?access_token=, When it comes with a mutation or a read other than the event stream, Then the request is refused with 401 saying where the token belongs', async () => {
    const pause = await api.app.inject({ method: 'POST', url: '/v1/rollouts/nope/pause?access_token=operator-token' });
    expect(pause.statusCode).toBe(401);
    expect(pause.json()).toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringContaining('Authorization') });
    const create = await api.app.inject({
      method: 'POST',
      url: '/v1/rollouts?access_token=operator-token',
      headers: { 'content-type': 'application/json' },
      payload: { spec: 'x' },
    });
    expect(create.statusCode).toBe(401);
    for (const url of ['/v1/fleet', '/v1/rollouts', '/v1/clusters/prod-1'])
      expect((await api.app.inject({ method: 'GET', url: `${url}?access_token=viewer-token` })).statusCode, url).toBe(
        401,
      );
    // a URL that carries the token has leaked it: refused even when the header carries a valid token too
    const both = await api.app.inject({
      method: 'GET',
      url: '/v1/fleet?access_token=viewer-token',
      headers: bearer('viewer-token'),
    });
    expect(both.statusCode).toBe(401);
    expect(
      (await api.app.inject({ method: 'GET', url: '/v1/fleet', headers: bearer('viewer-token') })).statusCode,
    ).toBe(200);
  });

  it('Given requests that carry a token in the query, When they are logged, Then no log line holds the token', async () => {
    logLines.length = 0;
    await api.app.inject({ method: 'GET', url: '/v1/fleet?access_token=viewer-token&x=1' });
    await api.app.inject({ method: 'GET', url: '/healthz?Access%5FToken=admin-token' });
    await api.app.inject({ method: 'GET', url: '/no/such/route?access_token=operator-token' });
    const text = logLines.join('');
    expect(text).toContain('"url":"/v1/fleet?access_token=[REDACTED]&x=1"');
    expect(text).toContain('"url":"/healthz?Access%5FToken=[REDACTED]"');
    expect(text).not.toMatch(/viewer-token|admin-token|operator-token/);
  });

  it('redacts every spelling of the parameter and leaves the rest of the URL as it was', () => {
    expect(redactUrl('/v1/events?rollout=a&access_token=s3cret#top')).toBe(
      '/v1/events?rollout=a&access_token=[REDACTED]#top',
    );
    expect(redactUrl('/v1/events?ACCESS_TOKEN=a&access_token=b')).toBe(
      '/v1/events?ACCESS_TOKEN=[REDACTED]&access_token=[REDACTED]',
    );
    expect(redactUrl('/v1/fleet')).toBe('/v1/fleet');
    expect(redactUrl('/v1/fleet?access_tokens=kept')).toBe('/v1/fleet?access_tokens=kept');
  });
});

describe('authentication comes first', () => {
  it('Given an anonymous caller, When it calls any /v1 route with an invalid body and an invalid id, Then it gets 401 and nothing about the schema', async () => {
    const routes = await v1Routes(() => 'x'.repeat(300));
    expect(routes.length).toBeGreaterThan(10);
    for (const { method, url } of routes) {
      const res = await api.app.inject({
        method: method as 'GET',
        url,
        ...(method === 'GET' ? {} : { headers: { 'content-type': 'application/json' }, payload: { bogus: [1] } }),
      });
      expect(res.statusCode, `${method} ${url}`).toBe(401);
      expect(res.json(), `${method} ${url}`).toEqual({
        code: 'UNAUTHENTICATED',
        message: 'a bearer token is required',
        details: [],
      });
    }
  });

  it('Given an anonymous caller, When it posts an exclusion with a malformed body, Then it gets 401, not the field-level 400', async () => {
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/rollouts/x/exclude',
      payload: { units: [{ cluster: 'prod-1' }] },
    });
    expect(res.statusCode).toBe(401);
    expect(JSON.stringify(res.json())).not.toContain('namespace');
  });
});
