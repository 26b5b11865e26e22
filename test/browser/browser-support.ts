import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseDocumentText } from '@meshwave/contracts';
import { DemoFleetConfig } from '@meshwave/cli';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Where screenshots go: a folder CI keeps (gitignored). */
export const SCREENSHOTS = `${root}test-results/screenshots`;

/**
 * Debian's `chromium` (installed by .ci/run as redis-server is), or the browser `MESHWAVE_CHROMIUM` names.
 * Nothing downloads a browser: puppeteer-core has no install step, and a missing browser fails the test.
 */
export function chromiumPath(): string {
  const path = process.env.MESHWAVE_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(path))
    throw new Error(`no Chromium at ${path}: apt-get install chromium (or set MESHWAVE_CHROMIUM to a Chromium binary)`);
  return path;
}

export async function launchChromium(): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    // root in CI and containers has no user namespace sandbox; /dev/shm is small in containers
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, fullPage: true });
}

/** The demo's fleet and rollout files, as `meshwave demo` reads them. */
export function demoInputs(): { fleet: DemoFleetConfig; exampleText: string } {
  const fleetPath = `${root}examples/demo-fleet.yml`;
  return {
    fleet: parseDocumentText(DemoFleetConfig, readFileSync(fleetPath, 'utf8'), fleetPath),
    exampleText: readFileSync(`${root}examples/rollouts.yml`, 'utf8'),
  };
}

/** Signs in through the login form with `token`. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  await page.waitForSelector('[data-testid=login-token]');
  await page.type('[data-testid=login-token]', token);
  await page.click('[data-testid=login-submit]');
}

/** Clicks an action's button, gives the reason and confirms; waits until the dialog has closed (sent). */
export async function actWithReason(page: Page, selector: string, reason: string): Promise<void> {
  await page.click(selector);
  await page.waitForSelector('[data-testid=confirm-reason]');
  await page.type('[data-testid=confirm-reason]', reason);
  await page.click('[data-testid=confirm-submit]');
  await page.waitForSelector('[data-testid=confirm-dialog]', { hidden: true });
}
