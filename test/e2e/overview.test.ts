// The overview page in real headless Chromium against the real server, on a desktop window and a
// phone's: a seeded history drawn as four charts (each canvas really painted), the data tables
// equal to what GET /stats/activity answers, nothing wider than the window, no serious axe-core
// finding, and a live update when another change-set is proposed. Screenshots go to
// test-artifacts/screenshots.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActivityStats } from '../../src/core/activity.js';
import {
  chromiumMissing,
  launchChromium,
  openTab,
  screenshot,
  seriousViolations,
  signIn,
  type Tab,
} from './browser.js';
import { addPrincipal, callApi, cleanUp, expectCleanStop, type ServerProcess, startServer } from './helpers.js';

const missing = chromiumMissing();

const VIEWPORTS = [
  { name: 'desktop', width: 1440, height: 900 },
  { name: 'phone', width: 390, height: 844 },
] as const;

// What the tests read in the page, typed here: the tests are compiled without the DOM's types.
interface CellLike {
  textContent: string | null;
}
interface RowLike {
  querySelectorAll(selector: string): Iterable<CellLike>;
}
interface CanvasLike {
  width: number;
  height: number;
  getBoundingClientRect(): { width: number };
  getContext(
    kind: '2d',
  ): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
}
/** The page's globals, as `(globalThis as unknown as BrowserGlobals)` inside what `page.evaluate` runs there. */
interface BrowserGlobals {
  document: {
    querySelectorAll(selector: string): { length: number };
    documentElement: { scrollWidth: number; clientWidth: number };
  };
  requestAnimationFrame(callback: () => void): number;
}

/** The rows of the page's table `name` (every cell's text; the table may be in a closed disclosure). */
const tableRows = (page: Page, name: string) =>
  page
    .locator(`table[data-table="${name}"] tbody tr`)
    .evaluateAll((rows) =>
      (rows as unknown as RowLike[]).map((row) =>
        Array.from(row.querySelectorAll('th, td'), (cell) => (cell.textContent ?? '').trim()),
      ),
    );

/** How much of a chart's canvas is painted, and how much of it in `hex` (the colour of a series). */
const painted = (page: Page, name: string, hex: string) =>
  page.locator(`canvas[data-chart="${name}"]`).evaluate((element, hex) => {
    const canvas = element as unknown as CanvasLike;
    const g = canvas.getContext('2d');
    if (!g) return { painted: 0, inColour: 0, width: 0 };
    const [r, gr, b] = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
    const { data } = g.getImageData(0, 0, canvas.width, canvas.height);
    let paint = 0;
    let inColour = 0;
    for (let i = 0; i < data.length; i += 4) {
      if ((data[i + 3] ?? 0) === 0) continue;
      paint++;
      const near = (j: number, v: number) => Math.abs((data[i + j] ?? 0) - v) <= 6;
      if (near(0, r) && near(1, gr) && near(2, b) && (data[i + 3] ?? 0) > 200) inColour++;
    }
    return { painted: paint, inColour, width: canvas.getBoundingClientRect().width };
  }, hex);

// The page's own formatting of the figures (web/lib/activity-charts.ts), written out again here.
const minutes = (seconds: number | null) => (seconds === null ? '—' : String(Math.round(seconds / 6) / 10));
const percent = (rate: number | null) => (rate === null ? '—' : `${Math.round(rate * 1000) / 10}%`);

describe.skipIf(missing !== null)(`overview page in Chromium${missing ? ` — skipped: ${missing}` : ''}`, () => {
  let server: ServerProcess;
  let browser: Browser;
  let tab: Tab;
  const token: Record<string, string> = {};
  let counter = 0;

  const ok = async (who: string, method: string, path: string, body?: unknown) => {
    const response = await callApi(server.url, method, path, token[who] ?? '', body);
    expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
    return response.body;
  };
  /** A change-set by `agent` that needs sec-lead's approval, submitted unless `draft`. */
  const propose = async (agent: string, agent_type: string, draft = false) => {
    const id = `CS-OV-${++counter}`;
    await ok(agent, 'POST', '/changesets', {
      change_set_id: id,
      title: `Overview seed ${counter}`,
      agent_type,
      category: 'SECURITY',
      approval_chain: ['sec-lead'],
      items: [
        {
          operation_type: 'CREATE',
          target_type: 'SECURITY_POLICY',
          target_id: `ov.${counter}`,
          after_state: { n: counter },
        },
      ],
    });
    if (!draft) await ok(agent, 'POST', `/changesets/${id}/submit`);
    return id;
  };
  const stats = async (): Promise<ActivityStats> =>
    (await callApi<ActivityStats>(server.url, 'GET', '/stats/activity?days=30', token['sec-lead'] ?? '')).body;

  beforeAll(async () => {
    server = await startServer();
    for (const [id, kind, groups] of [
      ['Agent-C', 'agent', []],
      ['Agent-U', 'agent', []],
      ['sec-lead', 'human', ['security']],
    ] as const) {
      token[id] = await addPrincipal(server.url, server.adminToken, { id, kind, groups });
    }
    // Agent-C: two applied (one of them rolled back), one vetoed. Agent-U: two pending, one draft.
    for (const rollBack of [false, true]) {
      const id = await propose('Agent-C', 'BACKEND');
      await ok('sec-lead', 'POST', `/changesets/${id}/approve`, { decision: 'APPROVED' });
      await ok('Agent-C', 'POST', `/changesets/${id}/apply`, { mode: 'ATOMIC' });
      if (rollBack) await ok('Agent-C', 'POST', `/changesets/${id}/rollback`, { reason: 'undo' });
    }
    const vetoed = await propose('Agent-C', 'BACKEND');
    await ok('sec-lead', 'POST', `/changesets/${vetoed}/approve`, { decision: 'REJECTED', reason: 'no' });
    await propose('Agent-U', 'UI');
    await propose('Agent-U', 'UI');
    await propose('Agent-U', 'UI', true);
    browser = await launchChromium();
    tab = await openTab(browser, server.url);
    await tab.page.goto('/');
    await signIn(tab.page, token['sec-lead'] ?? '');
  });

  afterAll(async () => {
    await browser?.close();
    if (server) await expectCleanStop(server);
    await cleanUp();
  });

  it('is linked in the navigation and shows the totals of the window', async () => {
    const { page } = tab;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    expect(page.url()).toBe(`${server.url}/overview`);
    const link = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' });
    expect(await link.getAttribute('aria-current')).toBe('page');
    await page.locator('canvas[data-chart="agents"]').waitFor();
    const tiles = await page
      .locator('.tile')
      .evaluateAll((nodes) =>
        nodes.map((n) => [n.querySelector('dt')?.textContent, n.querySelector('dd')?.textContent]),
      );
    expect(tiles.slice(0, 4)).toEqual([
      ['Proposed', '6'],
      ['Applied', '2'],
      ['Rejected', '1'],
      ['Rolled back', '1'],
    ]);
    expect(tiles[5]).toEqual(['Waiting now', '2']);
  });

  for (const viewport of VIEWPORTS) {
    it(`draws every chart at ${viewport.width}×${viewport.height}, within the window`, async () => {
      const { page } = tab;
      await page.setViewportSize({ width: viewport.width, height: viewport.height });
      await page.goto('/overview');
      await page.locator('canvas[data-chart="agents"]').waitFor();
      // Chart.js redraws on resize in the next animation frame.
      await page.evaluate(
        () =>
          new Promise((resolve) =>
            (globalThis as unknown as BrowserGlobals).requestAnimationFrame(() =>
              (globalThis as unknown as BrowserGlobals).requestAnimationFrame(() => resolve(null)),
            ),
          ),
      );
      const colours = { outcomes: '#00715a', decisions: '#0b5fa5', queue: '#1f4e79', agents: '#7b3fa0' };
      for (const [name, hex] of Object.entries(colours)) {
        const drawn = await painted(page, name, hex);
        expect(drawn.painted, `${name}: something drawn`).toBeGreaterThan(1000);
        expect(drawn.inColour, `${name}: its series drawn in ${hex}`).toBeGreaterThan(20);
        expect(drawn.width, `${name}: fits the window`).toBeLessThanOrEqual(viewport.width);
      }
      const overflow = await page.evaluate(() => {
        const { documentElement } = (globalThis as unknown as BrowserGlobals).document;
        return { scroll: documentElement.scrollWidth, client: documentElement.clientWidth };
      });
      expect(overflow.scroll, 'no horizontal scrolling').toBeLessThanOrEqual(overflow.client);
      for (const summary of await page.locator('details.chart-data > summary').all()) await summary.click();
      await screenshot(page, `overview-${viewport.name}`);
      expect(await seriousViolations(page), `axe-core on the overview at ${viewport.width}px`).toEqual([]);
    });
  }

  it('gives every chart an accessible summary and tables equal to the API', async () => {
    const { page } = tab;
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.goto('/overview');
    await page.locator('canvas[data-chart="agents"]').waitFor();
    const api = await stats();
    const summary = await page.locator('canvas[data-chart="outcomes"]').getAttribute('aria-label');
    expect(summary).toBe(
      'Over 30 days: 6 proposed, 2 applied, 1 rejected, 1 rolled back. The busiest day was ' +
        `${new Date(`${api.days.at(-1)?.date}T00:00:00Z`).toLocaleDateString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' })} with 4 outcomes.`,
    );
    expect(await page.getByRole('img', { name: /^3 decisions in the last 30 days/ }).count()).toBe(1);
    expect(await page.getByRole('img', { name: /^2 change-sets waiting for approval/ }).count()).toBe(1);

    expect(await tableRows(page, 'outcomes')).toEqual(
      api.days.map((d) => [d.date, d.proposed, d.applied, d.rejected, d.rolled_back].map(String)),
    );
    expect(await tableRows(page, 'decisions')).toEqual(
      api.days.map((d) => [
        d.date,
        String(d.time_to_decision.decisions),
        minutes(d.time_to_decision.median_seconds),
        minutes(d.time_to_decision.p90_seconds),
      ]),
    );
    expect(await tableRows(page, 'queue')).toEqual(api.queue.ages.map((age) => [age.label, String(age.count)]));
    expect(await tableRows(page, 'agents')).toEqual(
      api.agents.map((a) => [
        `${a.agent_id} (${a.agent_type})`,
        String(a.proposals),
        String(a.applied),
        String(a.rolled_back),
        percent(a.rollback_rate),
      ]),
    );
    // The numbers themselves, as seeded: today holds the whole history.
    expect(api.agents.map((a) => [a.agent_id, a.proposals, a.applied, a.rolled_back, a.rollback_rate])).toEqual([
      ['Agent-C', 3, 2, 1, 0.5],
      ['Agent-U', 3, 0, 0, null],
    ]);
    expect(await tableRows(page, 'agents')).toContainEqual(['Agent-C (BACKEND)', '3', '2', '1', '50%']);
  });

  it('follows a new proposal live, and reloads on the refresh button', async () => {
    const { page } = tab;
    const proposed = page.locator('.tile', { hasText: 'Proposed' }).locator('dd');
    expect(await proposed.textContent()).toBe('6');
    await propose('Agent-U', 'UI', true);
    await page.locator('.tile', { hasText: 'Proposed' }).locator('dd', { hasText: '7' }).waitFor();
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByRole('button', { name: 'Refresh', disabled: false }).waitFor();
    expect(await tableRows(page, 'agents')).toContainEqual(['Agent-U (UI)', '4', '0', '0', '—']);
  });

  it('keeps the window in the address', async () => {
    const { page } = tab;
    await page.getByLabel('Window', { exact: true }).selectOption('7');
    await page.waitForURL(`${server.url}/overview?days=7`);
    await page.waitForFunction(
      () =>
        (globalThis as unknown as BrowserGlobals).document.querySelectorAll('table[data-table="outcomes"] tbody tr')
          .length === 7,
    );
    await page.reload();
    expect(await page.getByLabel('Window', { exact: true }).inputValue()).toBe('7');
  });
});
