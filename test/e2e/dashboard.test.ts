// The review dashboard in real headless Chromium against the real server: a reviewer signs in,
// finds a pending change-set in the queue, reads its diff and risk, approves with the keyboard;
// the author applies and rolls it back while the reviewer's page follows live. Every page is
// screenshot (test-artifacts/screenshots) and checked by axe-core.
import type { Browser, Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chromiumMissing,
  expectAccessible,
  launchChromium,
  openTab,
  screenshot,
  signIn,
  type Tab,
  waitForText,
} from './browser.js';
import { addPrincipal, apiAs, cleanUp, expectCleanStop, type ServerProcess, startServer } from './helpers.js';

const missing = chromiumMissing();

/** The text of each cell of a table row, whitespace collapsed. */
const cells = async (row: Locator) =>
  (await row.locator('td').allTextContents()).map((text) => text.replace(/\s+/g, ' ').trim());

describe.skipIf(missing !== null)(`review dashboard in Chromium${missing ? ` — skipped: ${missing}` : ''}`, () => {
  let server: ServerProcess;
  let browser: Browser;
  let reviewer: Tab;
  let author: Tab;
  const token: Record<string, string> = {};
  const { ok } = apiAs(() => server.url, token);

  beforeAll(async () => {
    server = await startServer();
    token['admin'] = server.adminToken;
    for (const [id, kind, groups] of [
      ['Agent-C', 'agent', []],
      ['sec-lead', 'human', ['security']],
    ] as const) {
      token[id] = await addPrincipal(server.url, server.adminToken, { id, kind, groups });
    }
    // The firewall policy exists (version 1); CS-OPEN-SSH proposes to change it and waits for review.
    const security = { agent_type: 'BACKEND', category: 'SECURITY', approval_chain: ['sec-lead'] };
    const target = { target_type: 'SECURITY_POLICY', target_id: 'security.firewall' };
    await ok('Agent-C', 'POST', '/changesets', {
      ...security,
      change_set_id: 'CS-BASE',
      title: 'Firewall policy',
      items: [{ operation_type: 'CREATE', ...target, after_state: { allow: ['443/tcp'], log: false } }],
    });
    await ok('Agent-C', 'POST', '/changesets/CS-BASE/submit');
    await ok('sec-lead', 'POST', '/changesets/CS-BASE/approve', { decision: 'APPROVED' });
    await ok('Agent-C', 'POST', '/changesets/CS-BASE/apply', { mode: 'ATOMIC' });
    await ok('Agent-C', 'POST', '/changesets', {
      ...security,
      change_set_id: 'CS-OPEN-SSH',
      title: 'Open SSH on the firewall',
      priority: 'HIGH',
      items: [
        {
          operation_type: 'UPDATE',
          ...target,
          diff_data: [
            { op: 'add', path: '/allow/-', value: '22/tcp' },
            { op: 'replace', path: '/log', value: true },
          ],
        },
      ],
    });
    await ok('Agent-C', 'POST', '/changesets/CS-OPEN-SSH/submit');
    browser = await launchChromium();
    reviewer = await openTab(browser, server.url);
    author = await openTab(browser, server.url);
  });

  afterAll(async () => {
    await browser?.close();
    if (server) await expectCleanStop(server);
    await cleanUp();
  });

  it('signs the reviewer in with a token that stays out of every URL', async () => {
    const { page } = reviewer;
    await page.goto('/');
    await page.getByRole('heading', { name: 'changeledger' }).waitFor();
    await expectAccessible(page, '01-sign-in');
    await page.getByLabel('API token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await waitForText(page, '[role=alert]', 'unknown or revoked token');
    await signIn(page, token['sec-lead']!);
    await waitForText(page, '.who', 'sec-lead');
    expect(
      await page.evaluate(() =>
        (globalThis as unknown as { sessionStorage: { getItem(key: string): string | null } }).sessionStorage.getItem(
          'changeledger.token',
        ),
      ),
    ).toBe(token['sec-lead']);
    expect(reviewer.requestedUrls.filter((url) => url.includes(token['sec-lead']!))).toEqual([]);
    expect(page.url()).toBe(`${server.url}/`);
    await page.reload(); // the tab keeps its session
    await waitForText(page, '.who', 'sec-lead');
  });

  it('lists the pending change-set in the queue with its deadline and risk', async () => {
    const { page } = reviewer;
    const row = page
      .locator('section#to-decide, section[aria-labelledby=to-decide]')
      .locator('tr', { hasText: 'CS-OPEN-SSH' });
    await row.waitFor();
    expect(await cells(row)).toEqual([
      'CS-OPEN-SSH Open SSH on the firewall',
      'pending approval',
      'MEDIUM 42',
      'HIGH',
      'SECURITY',
      'Agent-C',
      '0 / 1',
      'in 8 h',
      expect.any(String),
    ]);
    await page.getByRole('link', { name: /CS-BASE/ }).waitFor({ state: 'detached' });
    await expectAccessible(page, '02-queue');
  });

  it('opens the change-set: the diff from the plan, the risk factors and only the reviewer actions', async () => {
    const { page } = reviewer;
    await page.getByRole('link', { name: /CS-OPEN-SSH/ }).click();
    await page.waitForURL('**/changesets/CS-OPEN-SSH');
    const diff = page.locator('table.diff').first();
    await diff.waitFor();
    expect(await diff.locator('thead').textContent()).toMatch(/Before \(version 1\)[\s\S]*After \(version 2\)/);
    expect(await diff.locator('del').allInnerTexts()).toEqual(
      expect.arrayContaining([expect.stringContaining('"log": false')]),
    );
    expect(await diff.locator('ins').allInnerTexts()).toEqual(
      expect.arrayContaining([expect.stringContaining('"22/tcp"'), expect.stringContaining('"log": true')]),
    );
    await page.getByText('replace').first().waitFor();
    const chart = page.getByRole('img', { name: /Risk factors/ });
    expect(await chart.getAttribute('aria-labelledby')).toBeTruthy();
    const description = await chart.locator('desc').textContent();
    expect(description).toBe(
      'Operation 10 of 100, Target 75 of 100, Agent 35 of 100, Scope 50 of 100, Quantity 5 of 100',
    );
    await waitForText(page, '.risk-score', /score 42 of 100/);
    await waitForText(page, '.approvals', /Risk review: 0 of 1/);
    await page.getByRole('group', { name: 'Actions' }).getByRole('button', { name: 'Approve' }).waitFor();
    const actions = await page.getByRole('group', { name: 'Actions' }).getByRole('button').allInnerTexts();
    expect(actions).toEqual(['Approve', 'Reject']);
    await expectAccessible(page, '03-change-set-pending');
    await page.setViewportSize({ width: 414, height: 900 }); // a phone: one column, nothing cut off
    await screenshot(page, '03-change-set-pending-narrow');
    await page.setViewportSize({ width: 1360, height: 900 });
  });

  it('approves with the keyboard alone, giving a reason', async () => {
    const { page } = reviewer;
    await page.getByRole('button', { name: 'Approve' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: /Approve this change-set: CS-OPEN-SSH/ });
    await dialog.waitFor();
    await page.keyboard.type('Port 22 is for the bastion only');
    await expectAccessible(page, '04-approve-dialog', false);
    await page.keyboard.press('Tab'); // Cancel
    await page.keyboard.press('Tab'); // Approve
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'detached' });
    await waitForText(page, '[role=status]', 'approved by you; status is now approved');
    await waitForText(page, '.cs-summary', 'approved');
    await waitForText(page, '.timeline', /sec-lead approved \(1 of 1\) — “Port 22 is for the bastion only”/);
    await waitForText(page, '.approvals', /Risk review: 1 of 1/);
    await page
      .getByRole('group', { name: 'Actions' })
      .getByRole('button', { name: 'Approve' })
      .waitFor({ state: 'detached' });
    const after = await page.getByRole('group', { name: 'Actions' }).getByRole('button').allInnerTexts();
    expect(after).toEqual(['Reject']); // an eligible approver may still revoke
  });

  it('lets the author apply with a plan preview and roll back, and the reviewer sees both live', async () => {
    const { page } = author;
    await page.goto('/changesets/CS-OPEN-SSH'); // the deep link a notification carries
    await signIn(page, token['Agent-C']!);
    await page.waitForURL('**/changesets/CS-OPEN-SSH');
    const actions = page.getByRole('group', { name: 'Actions' });
    // The actions render once the change-set and the principal are loaded: wait for them.
    await actions.getByRole('button', { name: 'Apply…' }).waitFor();
    expect(await actions.getByRole('button').allInnerTexts()).toEqual(['Apply…', 'Close']);
    await actions.getByRole('button', { name: 'Apply…' }).click();
    const dialog = page.getByRole('dialog', { name: /Apply this change-set/ });
    await waitForText(page, '.plan-list', /security\.firewall: would apply \(version 1 → 2\)/);
    expect(await dialog.getByLabel(/Atomic/).isChecked()).toBe(true);
    await dialog.getByLabel(/Best effort/).check();
    await dialog.getByLabel(/Atomic/).check();
    await expectAccessible(page, '05-apply-dialog', false);
    await dialog.getByRole('button', { name: 'Apply' }).click();
    await waitForText(
      page,
      '[role=status]',
      /applied \(ATOMIC\): 1 applied, 0 failed, 0 skipped; status is now applied/,
    );
    await waitForText(page, '.item-meta', 'applied as version 2');
    await screenshot(page, '06-change-set-applied');

    // The reviewer's page was not reloaded: it follows the event stream.
    await waitForText(reviewer.page, '.cs-summary', 'applied');
    await waitForText(reviewer.page, '[role=status]', /Updated live: Agent-C — applied/);
    await screenshot(reviewer.page, '07-reviewer-live-applied');

    await actions.getByRole('button', { name: 'Roll back…' }).click();
    const rollback = page.getByRole('dialog', { name: /Roll back this change-set/ });
    await rollback.getByLabel('Reason').fill('SSH stays closed after all');
    await rollback.getByRole('button', { name: 'Roll back' }).click();
    await waitForText(page, '[role=status]', 'rolled back: 1 item(s) restored');
    await waitForText(page, '.cs-summary', 'rolled back');
    await waitForText(reviewer.page, '.cs-summary', 'rolled back');
    await waitForText(reviewer.page, '.timeline', /Agent-C rolled back 1 item\(s\) — “SSH stays closed after all”/);
    await actions.getByRole('button', { name: 'Reopen' }).waitFor();
    expect(await actions.getByRole('button').allInnerTexts()).toEqual(['Reopen']);
    await expectAccessible(page, '08-change-set-rolled-back');
    const resource = await ok('admin', 'GET', '/resources/SECURITY_POLICY/security.firewall');
    expect(resource['state']).toEqual({ allow: ['443/tcp'], log: false });
  });

  it("shows the API's refusal in its own words", async () => {
    // CS-BANNER-1 creates a banner, CS-BANNER-2 changes it afterwards: rolling back 1 would undo 2.
    const ui = { agent_type: 'UI', category: 'UI_LAYOUT' };
    const banner = { target_type: 'UI_COMPONENT', target_id: 'ui.banner' };
    await ok('Agent-C', 'POST', '/changesets', {
      ...ui,
      change_set_id: 'CS-BANNER-1',
      title: 'Add a banner',
      items: [{ operation_type: 'CREATE', ...banner, after_state: { text: 'Hello' } }],
    });
    await ok('Agent-C', 'POST', '/changesets/CS-BANNER-1/apply');
    await ok('Agent-C', 'POST', '/changesets', {
      ...ui,
      change_set_id: 'CS-BANNER-2',
      title: 'Reword the banner',
      items: [{ operation_type: 'UPDATE', ...banner, after_state: { text: 'Welcome' } }],
    });
    await ok('Agent-C', 'POST', '/changesets/CS-BANNER-2/apply');
    const { page } = author;
    await page.getByRole('link', { name: 'Change-sets' }).click();
    await page.getByRole('link', { name: /CS-BANNER-1/ }).click();
    await page.getByRole('button', { name: 'Roll back…' }).click();
    const dialog = page.getByRole('dialog', { name: /Roll back this change-set/ });
    await dialog.getByLabel('Reason').fill('the banner is not wanted');
    await dialog.getByRole('button', { name: 'Roll back' }).click();
    const alert = dialog.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(
      /The server refused to roll back[\s\S]*CS-BANNER-2[\s\S]*propose a new change-set that undoes what you need[\s\S]*HTTP 409 · CONFLICT/,
    );
    await expectAccessible(page, '09-refusal', false);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await waitForText(page, '.cs-summary', 'applied');
  });

  it('lists, filters and searches all change-sets', async () => {
    const { page } = reviewer;
    await page.getByRole('link', { name: 'Change-sets' }).click();
    await page.getByRole('heading', { name: 'Change-sets', level: 1 }).waitFor();
    const ids = () => page.locator('table.change-sets .cs-id').allInnerTexts();
    await waitForText(page, 'table.change-sets', 'CS-BANNER-2');
    expect(await ids()).toEqual(['CS-BANNER-2', 'CS-BANNER-1', 'CS-OPEN-SSH', 'CS-BASE']);
    await page.getByLabel('Search titles').fill('firewall');
    await page.getByLabel('Search titles').press('Enter');
    await page.waitForURL('**/changesets?q=firewall');
    await page.locator('table.change-sets').getByText('CS-BANNER-2').waitFor({ state: 'detached' });
    await waitForText(page, 'table.change-sets', 'CS-BASE');
    expect(await ids()).toEqual(['CS-OPEN-SSH', 'CS-BASE']);
    await page.getByLabel('Status').selectOption('ROLLED_BACK');
    await page.waitForURL('**/changesets?q=firewall&status=ROLLED_BACK');
    await page.locator('table.change-sets').getByText('CS-BASE').waitFor({ state: 'detached' });
    await waitForText(page, 'table.change-sets', 'CS-OPEN-SSH');
    expect(await ids()).toEqual(['CS-OPEN-SSH']);
    await expectAccessible(page, '10-change-sets');
  });

  it('adds a change-set to the queue live when another principal submits it', async () => {
    const { page } = reviewer;
    await page.getByRole('link', { name: 'Review queue' }).click();
    await page.getByRole('heading', { name: 'Review queue' }).waitFor();
    await page.getByText('Nothing waits for your decision.').waitFor();
    await ok('Agent-C', 'POST', '/changesets', {
      agent_type: 'BACKEND',
      category: 'SECURITY',
      approval_chain: ['sec-lead'],
      change_set_id: 'CS-LIVE',
      title: 'Drop the firewall policy',
      priority: 'CRITICAL',
      items: [{ operation_type: 'DELETE', target_type: 'SECURITY_POLICY', target_id: 'security.firewall' }],
    });
    await ok('Agent-C', 'POST', '/changesets/CS-LIVE/submit');
    await waitForText(page, '[aria-labelledby=to-decide] tr', /CS-LIVE[\s\S]*in 2 h/);
    await screenshot(page, '11-queue-live');
  });

  it('shows a resource: its current state, its history and the change-set behind each version', async () => {
    const { page } = reviewer;
    await page.getByRole('link', { name: 'Resources' }).click();
    const row = page.locator('tr', { hasText: 'security.firewall' });
    await row.waitFor();
    expect((await cells(row)).slice(0, 3)).toEqual(['SECURITY_POLICY / security.firewall', '3', 'CS-OPEN-SSH']);
    await expectAccessible(page, '12-resources');
    await row.getByRole('link', { name: /security\.firewall/ }).click();
    await page.waitForURL('**/resources/SECURITY_POLICY/security.firewall');
    await waitForText(page, 'pre.json', '"443/tcp"');
    const history = page.locator('[aria-labelledby=history] tbody tr');
    await history.first().waitFor();
    const rows = await Promise.all((await history.all()).map(async (row) => (await cells(row)).slice(0, 4).join(' ')));
    expect(rows).toEqual([
      '3 rollback CS-OPEN-SSH Agent-C',
      '2 update CS-OPEN-SSH Agent-C',
      '1 create CS-BASE Agent-C',
    ]);
    await page.getByRole('button', { name: 'Show change to version 2' }).click();
    await waitForText(page, 'table.diff ins', '"22/tcp"');
    await expectAccessible(page, '13-resource');
  });

  it("links the change-set's agent to its page: the track record and its earned trust", async () => {
    const { page } = reviewer;
    await page.locator('[aria-labelledby=history] tbody tr').first().getByRole('link', { name: 'CS-OPEN-SSH' }).click();
    await page.waitForURL('**/changesets/**');
    await page.getByRole('link', { name: 'Agent-C' }).click();
    await page.waitForURL('**/agents/Agent-C');
    await waitForText(page, '[aria-labelledby=trust]', '+10: 1 rolled back or failed in 30 days, 2 applied since');
    const all = page.locator('[aria-labelledby=record] tbody tr', { hasText: 'All time' });
    // CS-BASE, CS-OPEN-SSH (rolled back), the two banners (auto-approved) and CS-LIVE (pending). Proposed,
    // auto-approved, approved, rejected (veto), applied, partially applied, apply failed, rolled back:
    expect((await cells(all)).slice(0, 8)).toEqual(['5', '2', '2', '0 (0)', '4', '0', '0', '1']);
    await waitForText(page, '[aria-labelledby=by-target-type] tbody', 'SECURITY_POLICY');
    await expectAccessible(page, '14-agent');
  });

  it('signs out: the token leaves the tab', async () => {
    const { page } = author;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    const stored = await page.evaluate(
      () => (globalThis as unknown as { sessionStorage: { length: number } }).sessionStorage.length,
    );
    expect(stored).toBe(0);
  });
});
