// Real headless Chromium for the dashboard tests: Debian's `chromium` driven by playwright-core
// (no browser download), a signed-in tab per principal, screenshots as artifacts, and axe-core.
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { STRICT } from '../helpers/backends.js';
import { REPO_ROOT } from './helpers.js';

export const CHROMIUM_PATH = process.env['CHANGELEDGER_CHROMIUM'] ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = join(REPO_ROOT, 'test-artifacts', 'screenshots');

/** Why the browser tests cannot run here, or null when they can. */
export function chromiumMissing(): string | null {
  if (existsSync(CHROMIUM_PATH)) return null;
  const reason = `${CHROMIUM_PATH} is missing (apt-get install chromium; .ci/run installs it)`;
  if (STRICT) throw new Error(`${reason}, and CHANGELEDGER_TEST_STRICT=1 forbids skipping the browser tests`);
  console.warn(`dashboard browser tests skipped: ${reason}`);
  return reason;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

export interface Tab {
  context: BrowserContext;
  page: Page;
  /** Every URL the page requested, to prove the token never travels in one. */
  requestedUrls: string[];
}

/** A fresh browser profile (its own session storage) with one page. */
export async function openTab(browser: Browser, baseUrl: string): Promise<Tab> {
  // The page's CSP allows only its own scripts; axe-core is injected by the test, so CSP is bypassed.
  const context = await browser.newContext({
    baseURL: baseUrl,
    bypassCSP: true,
    viewport: { width: 1360, height: 900 },
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const requestedUrls: string[] = [];
  page.on('request', (request) => requestedUrls.push(request.url()));
  return { context, page, requestedUrls };
}

export async function signIn(page: Page, token: string): Promise<void> {
  await page.getByLabel('API token').fill(token);
  await page.getByLabel('API token').press('Enter');
  await page.getByText('Signed in as').waitFor();
}

/** The whole page, or what the window shows (a modal dialog covers the window only). */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage });
  return path;
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

const AXE_SOURCE = createRequire(import.meta.url).resolve('axe-core');

/** axe-core's serious and critical violations on the page as it is now, one line each. */
export async function seriousViolations(page: Page): Promise<string[]> {
  const loaded = await page.evaluate(() => 'axe' in globalThis);
  if (!loaded) await page.addScriptTag({ path: AXE_SOURCE });
  const violations = await page.evaluate(async () => {
    type Result = { id: string; impact: string | null; help: string; nodes: { target: string[] }[] };
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: Result[] }> } }).axe;
    const { violations } = await axe.run();
    return violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => n.target.join(' ')),
    }));
  });
  return (violations as AxeViolation[])
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 5).join(', ')}`);
}

/** Waits until `text` shows in the element (live updates included). */
export const waitForText = (page: Page, selector: string, text: string | RegExp) =>
  page.locator(selector).filter({ hasText: text }).first().waitFor({ timeout: 15_000 });

/** A screenshot as an artifact, then axe-core: no serious or critical violation. */
export async function expectAccessible(page: Page, name: string, fullPage = true): Promise<void> {
  await screenshot(page, name, fullPage);
  expect(await seriousViolations(page), `axe-core on ${name}`).toEqual([]);
}
