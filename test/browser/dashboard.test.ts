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
    // Given the demo's fleet and its rollout, with the person at the page as the only operator
    const page = await newPage();
    await page.goto(`${fleet.url}/#token=${DEMO_TOKEN}`);
    await page.waitForSelector('[data-testid=identity]');
    const { exampleText } = demoInputs();
    while ((await client.fleet()).clusters.length < fleet.clusters.length) await new Promise((r) => setTimeout(r, 100));
    const created = await client.createRollout(stringify(demoRolloutSpec(exampleText, 3, new Date())));

    // When the canary wave awaits approval, the person approves it from the page, with a reason
    await page.waitForSelector('[data-testid=action-approve]', { timeout: STATE_TIMEOUT_MS });
    await screenshot(page, 'awaiting-approval');
    await actWithReason(page, '[data-testid=action-approve]', 'browser test: canary approved');

    // Then the crash-looping workload halts its wave, the wave is failed back, and the halt is shown as it is
    await page.waitForSelector(`${phase('Halted')} [data-testid=exclude-unit]`, { timeout: STATE_TIMEOUT_MS });
    await screenshot(page, 'halted');
    const haltText = await page.$eval(phase('Halted'), (e) => e.textContent ?? '');
    expect(haltText).toContain('halted');
    expect(haltText).toContain('rolled back');
    expect(await page.$('[data-testid=action-resume]')).not.toBeNull();
    expect(await page.$('[data-testid=action-pause]')).toBeNull();

    // When the person excludes what failed and resumes, each with a reason
    const unit = await page.$eval('[data-testid=exclude-unit]', (e) => e.getAttribute('data-unit'));
    await actWithReason(page, '[data-testid=exclude-unit]', 'browser test: db crash-loops on 1-25-2');
    await page.waitForSelector('[data-testid=exclusions]');
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
    const pct = await page.$$eval('.wave .pct', (es) => es.map((e) => e.textContent));
    expect(pct.length).toBeGreaterThan(0);
    expect(pct.every((p) => p === '100%')).toBe(true);

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
