import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'puppeteer-core';
import { DEMO_TOKEN, PlannerClient, demoRolloutSpec, startEmbeddedFleet, type EmbeddedFleet } from '@meshwave/cli';
import { actWithReason, demoInputs, launchChromium, screenshot, signIn } from './browser-support.js';

// The dashboard in a real browser (Debian's chromium through puppeteer-core) against the demo: the embedded
// fleet of `meshwave demo` and its rollout, with the person at the page as the operator instead of the demo's
// script. Every wait is for a state that stays until someone acts (a wave awaiting approval, a halted rollout
// whose wave was failed back, a completed rollout), never for a passing one.

const VIEWER_TOKEN = 'browser-test-viewer';
const STATE_TIMEOUT_MS = 150_000;

let fleet: EmbeddedFleet;
let browser: Browser;
let client: PlannerClient;

beforeAll(async () => {
  const { fleet: config } = demoInputs();
  fleet = await startEmbeddedFleet({
    fleet: config,
    port: 0,
    extraTokens: [{ name: 'vera', role: 'viewer', token: VIEWER_TOKEN }],
  });
  client = new PlannerClient(fleet.url, DEMO_TOKEN);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await fleet?.close();
});

async function newPage(width = 1280): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport({ width, height: 900 });
  return page;
}

const phase = (p: string): string => `[data-testid=rollout][data-phase=${p}]`;

/** The burn-down chart's box (services/planner/web/burndown.js CHART): x spans time, y units on `to`. */
const CHART_WIDTH = 300;
const CHART_TOP = 6;
const CHART_BOTTOM = 92;

/**
 * A viewer on a phone while the rollout is live: the rollout is shown, no action, exclusion or freeze is offered,
 * and the API refuses a viewer's action with 403 whatever the page offers.
 */
async function expectViewerOffersNothing(id: string, state: string): Promise<void> {
  const page = await newPage(390);
  await signIn(page, fleet.url, VIEWER_TOKEN);
  await page.waitForSelector(`[data-testid=rollout][data-id="${id}"]`);
  await page.waitForSelector('[data-testid=fleet]');
  expect(await page.$eval('[data-testid=identity]', (e) => e.textContent)).toBe('vera · viewer');
  expect(await page.$$('[data-testid^=action-]')).toHaveLength(0);
  expect(await page.$$('[data-testid=exclude-unit]')).toHaveLength(0);
  expect(await page.$$('[data-testid=include-unit]')).toHaveLength(0);
  expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
  await screenshot(page, `viewer-${state}`);
  await page.close();
  const viewer = new PlannerClient(fleet.url, VIEWER_TOKEN);
  await expect(viewer.act(id, 'approve', 'a viewer tries')).rejects.toMatchObject({ status: 403 });
  await expect(viewer.act(id, 'abort', 'a viewer tries')).rejects.toMatchObject({ status: 403 });
}

/**
 * Holds the demo ingress gateway's old Deployment, which its agent removes once the rollout completed (ADR 0050),
 * by a finalizer (the simulated cluster's fault), so the page can be seen before and after a report that arrives
 * once the rollout has ended.
 */
function holdGatewayRemoval(): { release(): void } {
  const cluster = fleet.clusters.find((c) => c.name === 'prod-us-east-1')!;
  const { faults } = demoInputs().fleet;
  const demoFaults = {
    crashLoop: faults.crashLoop.filter((f) => f.cluster === cluster.name),
    slowRollout: faults.slowRollout.filter((f) => f.cluster === cluster.name),
    sidecarMismatch: faults.sidecarMismatch.filter((f) => f.cluster === cluster.name),
  };
  cluster.setFaults({ ...demoFaults, finalizers: [{ namespace: 'istio-ingress', name: 'istio-ingressgateway' }] });
  return { release: () => cluster.setFaults(demoFaults) };
}

describe('dashboard in a browser', () => {
  it('asks for the token once: an unknown one is refused, a good one is kept for the tab and its role shown', async () => {
    // Given the dashboard without a token
    const page = await newPage();
    await signIn(page, fleet.url, 'not-a-token');
    // Then an unknown token is refused on the login form
    await page.waitForSelector('[data-testid=login-error]');
    await screenshot(page, 'login-refused');
    // When the person signs in with the demo's token
    await page.type('[data-testid=login-token]', DEMO_TOKEN);
    await page.click('[data-testid=login-submit]');
    // Then the page shows who they are, and a reload does not ask again (session storage)
    await page.waitForSelector('[data-testid=identity]');
    await page.reload();
    const who = await page.waitForSelector('[data-testid=identity]');
    expect(await who!.evaluate((e) => e.textContent)).toBe('demo-operator · admin');
    expect(await page.$('[data-testid=login]')).toBeNull();
    expect(page.url()).not.toContain('token');
    await page.close();
  });

  it('takes the demo rollout from the page: approve, see the halt, exclude, resume, see completion', async () => {
    // Given the demo's fleet and its rollout, with the person at the page as the only operator, and the ingress
    // gateway's old Deployment, removed by its agent once the rollout completed, held in removal until let go
    const removal = holdGatewayRemoval();
    const page = await newPage();
    await page.goto(`${fleet.url}/#token=${DEMO_TOKEN}`);
    await page.waitForSelector('[data-testid=identity]');
    const { exampleText } = demoInputs();
    while ((await client.fleet()).clusters.length < fleet.clusters.length) await new Promise((r) => setTimeout(r, 100));
    const created = await client.createRollout(stringify(demoRolloutSpec(exampleText, 3, new Date())));

    // When the canary wave awaits approval
    await page.waitForSelector('[data-testid=action-approve]', { timeout: STATE_TIMEOUT_MS });
    await screenshot(page, 'awaiting-approval');
    // Then a viewer, on a phone, sees the running rollout with a wave waiting for approval and is offered no action;
    // the API refuses theirs (403)
    await expectViewerOffersNothing(created.id, 'awaiting-approval');
    // When the person approves it from the page, with a reason
    await actWithReason(page, '[data-testid=action-approve]', 'browser test: canary approved');

    // Then the crash-looping workload halts its wave, the wave is failed back, and the halt is shown as it is
    await page.waitForSelector(`${phase('Halted')} [data-testid=exclude-unit]`, { timeout: STATE_TIMEOUT_MS });
    await screenshot(page, 'halted');
    const haltText = await page.$eval(phase('Halted'), (e) => e.textContent ?? '');
    expect(haltText).toContain('halted');
    expect(haltText).toContain('rolled back');
    expect(await page.$('[data-testid=action-resume]')).not.toBeNull();
    expect(await page.$('[data-testid=action-pause]')).toBeNull();
    // and a viewer, where the operator is offered resume and exclude, is offered nothing and refused by the API
    await expectViewerOffersNothing(created.id, 'halted');

    // When the person excludes what failed and resumes, each with a reason
    const unit = await page.$eval('[data-testid=exclude-unit]', (e) => e.getAttribute('data-unit'));
    await actWithReason(page, '[data-testid=exclude-unit]', 'browser test: db crash-loops on 1-25-2');
    await page.waitForSelector('[data-testid=exclusions]');
    // and the exclusion offers to take it back (not taken here: the unit still crash-loops)
    expect(await page.$eval('[data-testid=include-unit]', (e) => e.getAttribute('data-unit'))).toBe(unit);
    await actWithReason(page, '[data-testid=action-resume]', 'browser test: resume without db');

    // Then the rollout completes; the halt and the exclusion stay in the timeline, and no action is offered
    await page.waitForSelector(phase('Completed'), { timeout: STATE_TIMEOUT_MS });
    await page.waitForFunction(
      "[...document.querySelectorAll('[data-testid=wave-state]')].every((e) => e.textContent === 'passed')",
      { timeout: 30_000 },
    );
    await screenshot(page, 'completed');
    const timelineText = await page.$eval('[data-testid=timeline]', (e) => e.textContent ?? '');
    expect(timelineText).toContain('→ Halted');
    expect(timelineText).toContain('exclude by demo-operator');
    expect(await page.$eval('[data-testid=exclusions]', (e) => e.textContent)).toContain(unit);
    expect(await page.$('[data-testid=actions]')).toBeNull();
    expect(await page.$('[data-testid=include-unit]')).toBeNull();
    const pct = await page.$$eval('.wave .pct', (es) => es.map((e) => e.textContent));
    expect(pct.length).toBeGreaterThan(0);
    expect(pct.every((p) => p === '100%')).toBe(true);
    // and the gateways panel shows the ingress gateway's three canary steps done (ADR 0050)
    await page.waitForFunction(
      "[...document.querySelectorAll('[data-testid=gateway-step]')].map((e) => e.dataset.state).join() === 'done,done,done'",
      { timeout: 30_000 },
    );
    expect(await page.$eval('[data-testid=gateways]', (e) => e.textContent)).toContain('100% on 1-25-2');
    // a completed rollout's gateway is never shown pending: it stays as its last gate passed it until its agent
    // reports the old Deployment's removal
    const gatewayLine = await page.$eval('[data-testid=gateway]', (e) => e.textContent ?? '');
    expect(gatewayLine).not.toMatch(/: pending/);
    // and, while the agent removes the old Deployment, the page says so
    await page.waitForFunction(
      "document.querySelector('[data-testid=gateway]')?.textContent.includes('old Deployment being removed')",
      { timeout: 30_000 },
    );
    await screenshot(page, 'completed-gateway-removing');
    // When the removal ends after the rollout completed and the agent reports it
    removal.release();
    // Then the open page shows the gateway converged without being reloaded
    await page.waitForFunction(
      "/: converged\\s*$/.test(document.querySelector('[data-testid=gateway]')?.textContent ?? '')",
      { timeout: 30_000 },
    );
    expect(await page.$eval('[data-testid=gateway]', (e) => e.textContent ?? '')).not.toContain('being removed');
    // and the API gives the finished rollout's status an entity tag, answering 304 while it is unchanged
    const statusUrl = `${fleet.url}/v1/rollouts/${encodeURIComponent(created.id)}`;
    const authorization = `Bearer ${DEMO_TOKEN}`;
    const etag = (await fetch(statusUrl, { headers: { authorization } })).headers.get('etag');
    expect(etag).toMatch(/^W\/".+"$/);
    expect((await fetch(statusUrl, { headers: { authorization, 'if-none-match': etag! } })).status).toBe(304);
    // the fleet shows staging's ambient namespace's sidecarless workloads as ambient, not on revision "none"
    const staging = await page.$$eval('[data-testid=fleet] tbody tr', (rows) =>
      rows.map((r) => r.textContent ?? '').filter((t) => t.includes('staging-eu-1')),
    );
    expect(staging).toHaveLength(1);
    expect(staging[0]).toMatch(/ambient \(ztunnel\): \d+/);
    expect(staging[0]).not.toContain('none:');
    // and the ambient panel shows staging's node waves and waypoint step done, each node agent on 1.25.2 on all of
    // its nodes and none cordoned (ADR 0051)
    await page.waitForFunction(
      "[...document.querySelectorAll('[data-testid=ambient-step]')].map((e) => e.dataset.state).join() === 'done,done,done,done,done'",
      { timeout: 30_000 },
    );
    const nodeAgents = await page.$$eval('[data-testid=ambient-node-agent]', (es) =>
      es.map(
        (e) =>
          `${e.getAttribute('data-component')} ${e.querySelector('.pct')?.textContent} ${e.querySelector('[data-testid=ambient-cordoned]')?.textContent}`,
      ),
    );
    expect(nodeAgents).toEqual(['istio-cni 100% —', 'ztunnel 100% —']);

    // and the burn-down chart draws the API's samples: one point per sample, in time order, at its count on `to`
    const burndown = (await client.rollout(created.id)).burndown!;
    expect(burndown.samples.length).toBeGreaterThan(1);
    expect(burndown.onTarget).toBe(burndown.total);
    const drawn: string = await page.$eval('[data-testid=burndown-line]', (e) => e.getAttribute('points') ?? '');
    const points = drawn.split(' ').map((xy: string) => xy.split(',').map(Number) as [number, number]);
    expect(
      points.map(([, y]) => Math.round(((CHART_BOTTOM - y) / (CHART_BOTTOM - CHART_TOP)) * burndown.total)),
    ).toEqual(burndown.samples.map((x) => x.onTarget));
    // time runs from the first sample to the end of the work plus a quarter, stretched to a deadline within that
    const times = burndown.samples.map((x) => Date.parse(x.at));
    const work = Math.max(times.at(-1)!, Date.parse(burndown.projectedCompletion));
    const room = (work - times[0]!) / 4;
    const deadline = Date.parse(burndown.deadline);
    const span = (deadline <= work + room ? Math.max(work, deadline) : work + room) - times[0]!;
    points.forEach(([x], i) => expect(x).toBeCloseTo(((times[i]! - times[0]!) / span) * CHART_WIDTH, 0));
    expect(await page.$('[data-testid=burndown-deadline]')).not.toBeNull();

    // and the audit holds each action with the person's reason
    const audit = (await client.rolloutAudit(created.id)).entries;
    expect(audit.map((e) => [e.action, e.reason])).toEqual(
      expect.arrayContaining([
        ['approve', 'browser test: canary approved'],
        ['exclude', 'browser test: db crash-loops on 1-25-2'],
        ['resume', 'browser test: resume without db'],
      ]),
    );
    await page.close();
  });

  it('offers a viewer no action, and is readable on a phone’s width', async () => {
    // Given a viewer's token on a phone-sized screen
    const page = await newPage(390);
    await signIn(page, fleet.url, VIEWER_TOKEN);
    await page.waitForSelector('[data-testid=rollout]');
    await page.waitForSelector('[data-testid=fleet]');
    // Then no action, freeze or exclusion is offered
    expect(await page.$eval('[data-testid=identity]', (e) => e.textContent)).toBe('vera · viewer');
    expect(await page.$$('[data-testid^=action-]')).toHaveLength(0);
    expect(await page.$$('[data-testid=exclude-unit]')).toHaveLength(0);
    // and nothing is wider than the screen
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await screenshot(page, 'viewer-phone');
    await page.close();
  });
});
