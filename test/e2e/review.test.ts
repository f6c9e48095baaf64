// The review page a reviewer trusts at a glance, in real headless Chromium against the real server,
// at 1440×900 and at 390×844: the decision header that stays in view (why I am asked, my decision,
// who else decides, what it waits for), a 30-item change-set with an index, folding, "viewed" marks
// and word-level highlights, the truth after the fact (applied, rolled back, moved by whom), the
// apply warning, dialogs that follow live changes, the policies in one line, the keyboard
// shortcuts, and phones: cards, a unified diff, nothing scrolling sideways. Every page is
// screenshot (test-artifacts/screenshots) and checked by axe-core.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
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
import {
  addPrincipal,
  apiAs,
  cleanUp,
  expectCleanStop,
  makeTempDir,
  type ServerProcess,
  startServer,
} from './helpers.js';

const missing = chromiumMissing();

const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };

const POLICIES = `
policies:
  - name: security-needs-security
    condition: change_set.category == "SECURITY"
    effect: require_approval
    actions: [submit]
    approvers: ["group:security"]
    count: 1
    message: Security changes need a security reviewer
  - name: big-change
    condition: size(items) >= 20
    effect: warn
    actions: [submit]
    message: A big change-set; review it item by item
  - name: no-payments
    condition: change_set.category == "PAYMENTS"
    effect: deny
    actions: [submit]
  - name: no-night-deletes
    condition: change_set.priority == "LOW" && items.exists(i, i.operation_type == "DELETE")
    effect: deny
    actions: [submit]
  - name: design-review
    condition: change_set.category == "DESIGN_SYSTEM"
    effect: require_approval
    actions: [submit]
    approvers: ["group:design"]
  - name: tag-hotfix
    condition: '"hotfix" in change_set.tags'
    effect: warn
    actions: [submit]
  - name: infra-warn
    condition: change_set.category == "INFRASTRUCTURE"
    effect: warn
    actions: [submit]
`;

/** Nothing scrolls sideways: the document is no wider than the window. */
async function expectNoSidewaysScroll(page: Page, name: string): Promise<void> {
  const { scrollWidth, innerWidth } = await page.evaluate<{ scrollWidth: number; innerWidth: number }>(
    '({ scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth })',
  );
  expect(scrollWidth, `${name}: document ${scrollWidth} px wide in a ${innerWidth} px window`).toBeLessThanOrEqual(
    innerWidth,
  );
}

/** "id|text" of the focused element. */
const activeText = (page: Page) =>
  page.evaluate<string>('document.activeElement.id + "|" + document.activeElement.textContent');

/**
 * Records "id|text" of the focused element at the moment the open dialog leaves the page (in the
 * microtask after that DOM change), read back by the returned function: focus returned a task
 * later would show the page body here.
 */
async function focusWhenDialogLeaves(page: Page): Promise<() => Promise<string>> {
  await page.evaluate(`(() => {
    const dialog = document.querySelector('dialog[open]');
    window.__focusOnLeave = null;
    const watcher = new MutationObserver(() => {
      if (dialog.isConnected) return;
      watcher.disconnect();
      window.__focusOnLeave = document.activeElement.id + '|' + document.activeElement.textContent;
    });
    watcher.observe(document.body, { childList: true, subtree: true });
  })()`);
  return () => page.evaluate<string>('window.__focusOnLeave');
}

describe.skipIf(missing !== null)(`the review page in Chromium${missing ? ` — skipped: ${missing}` : ''}`, () => {
  let server: ServerProcess;
  let browser: Browser;
  let reviewer: Tab;
  let author: Tab;
  const token: Record<string, string> = {};
  const { ok } = apiAs(() => server.url, token);
  /** Submits, approves as whoever may until approved, and applies as the author. */
  async function land(id: string) {
    let cs = await ok('Agent-C', 'GET', `/changesets/${id}`);
    if (cs['status'] === 'DRAFT') cs = await ok('Agent-C', 'POST', `/changesets/${id}/submit`);
    for (const who of ['admin', 'sec-lead', 'ops-lead', 'sre-lead']) {
      if (cs['status'] !== 'PENDING_APPROVAL') break;
      cs = await ok(who, 'POST', `/changesets/${id}/approve`, { decision: 'APPROVED' });
    }
    expect(cs['status']).toBe('APPROVED');
    await ok('Agent-C', 'POST', `/changesets/${id}/apply`, { mode: 'ATOMIC' });
  }
  const ui = { agent_type: 'UI', category: 'UI_LAYOUT', approval_chain: ['sec-lead', 'ops-lead'] };
  const component = (n: number) => ({ target_type: 'UI_COMPONENT', target_id: `ui.panel-${n}` });

  beforeAll(async () => {
    const cwd = makeTempDir();
    writeFileSync(join(cwd, 'review.yaml'), POLICIES);
    server = await startServer({ cwd, args: ['--config', 'review.yaml'] });
    token['admin'] = server.adminToken;
    for (const [id, kind, groups, display_name] of [
      ['Agent-C', 'agent', [], 'Agent-C'],
      ['sec-lead', 'human', ['security'], 'Sam Okafor'],
      ['ops-lead', 'human', ['security'], 'Ana Ruiz'],
      ['sre-lead', 'human', ['security'], 'Bo Chen'],
      ['old-lead', 'human', ['security'], 'Olu Gone'],
    ] as const) {
      const contacts = { email: `${id}@example.com`, slack_id: `U-${id}` };
      token[id] = await addPrincipal(server.url, server.adminToken, { id, kind, groups, display_name, ...contacts });
    }
    // Twenty panels exist; CS-REVIEW creates ten more, rewords fifteen and deletes five.
    await ok('Agent-C', 'POST', '/changesets', {
      ...ui,
      change_set_id: 'CS-SEED',
      title: 'Twenty panels',
      items: Array.from({ length: 20 }, (_, n) => ({
        operation_type: 'CREATE',
        ...component(n),
        after_state: { title: `Panel ${n} shows the weekly totals`, visible: true },
      })),
    });
    await land('CS-SEED');
    await ok('Agent-C', 'POST', '/changesets', {
      agent_type: 'BACKEND',
      category: 'SECURITY',
      priority: 'CRITICAL',
      approval_chain: ['sec-lead', 'ops-lead', 'sre-lead'],
      change_set_id: 'CS-REVIEW',
      title: 'Rework the panels behind the security console',
      description: 'Ten new panels for the audit view; fifteen reworded; five retired panels removed.',
      items: [
        ...Array.from({ length: 10 }, (_, n) => ({
          operation_type: 'CREATE',
          ...component(100 + n),
          after_state: { title: `Audit panel ${n}`, visible: true },
        })),
        ...Array.from({ length: 15 }, (_, n) => ({
          operation_type: 'UPDATE',
          ...component(n),
          after_state: { title: `Panel ${n} shows the daily totals`, visible: true },
        })),
        ...Array.from({ length: 5 }, (_, n) => ({ operation_type: 'DELETE', ...component(15 + n) })),
      ],
    });
    await ok('Agent-C', 'POST', '/changesets/CS-REVIEW/submit');
    // A member of security who left: never listed among those who can decide.
    await ok('admin', 'PATCH', '/principals/old-lead', { active: false });

    // The past: CS-HIST changed the banner and was rolled back; CS-DRIFT changed it after that.
    const banner = { target_type: 'UI_COMPONENT', target_id: 'ui.banner' };
    await ok('Agent-C', 'POST', '/changesets', {
      ...ui,
      change_set_id: 'CS-BANNER',
      title: 'A banner',
      items: [{ operation_type: 'CREATE', ...banner, after_state: { text: 'Hello' } }],
    });
    await land('CS-BANNER');
    await ok('Agent-C', 'POST', '/changesets', {
      ...ui,
      change_set_id: 'CS-HIST',
      title: 'Reword the banner',
      items: [{ operation_type: 'UPDATE', ...banner, after_state: { text: 'Welcome back' } }],
    });
    // Based on version 1: planned now, it would conflict once CS-HIST has moved the banner.
    await ok('Agent-C', 'POST', '/changesets', {
      ...ui,
      change_set_id: 'CS-STALE',
      title: 'Another banner wording',
      items: [{ operation_type: 'UPDATE', ...banner, base_version: 1, after_state: { text: 'Hi there' } }],
    });
    await land('CS-HIST');
    await ok('Agent-C', 'POST', '/changesets/CS-HIST/rollback', { reason: 'wording not agreed' });
    await ok('Agent-C', 'POST', '/changesets', {
      ...ui,
      change_set_id: 'CS-DRIFT',
      title: 'Banner wording, agreed',
      items: [{ operation_type: 'UPDATE', ...banner, after_state: { text: 'Welcome' } }],
    });
    await land('CS-DRIFT');
    let stale = await ok('Agent-C', 'GET', '/changesets/CS-STALE');
    if (stale['status'] === 'DRAFT') stale = await ok('Agent-C', 'POST', '/changesets/CS-STALE/submit');
    for (const who of ['admin', 'sec-lead', 'ops-lead']) {
      if (stale['status'] !== 'PENDING_APPROVAL') break;
      stale = await ok(who, 'POST', '/changesets/CS-STALE/approve', { decision: 'APPROVED' });
    }

    browser = await launchChromium();
    reviewer = await openTab(browser, server.url);
    author = await openTab(browser, server.url);
    await reviewer.page.setViewportSize(DESKTOP);
    await author.page.setViewportSize(DESKTOP);
    await reviewer.page.goto('/');
    await signIn(reviewer.page, token['sec-lead'] ?? '');
    await author.page.goto('/');
    await signIn(author.page, token['Agent-C'] ?? '');
  });

  afterAll(async () => {
    await browser?.close();
    if (server) await expectCleanStop(server);
    await cleanUp();
  });

  it('heads the page with the decision: risk, labelled priority, description, why I am asked, who else decides', async () => {
    const { page } = reviewer;
    await page.goto('/changesets/CS-REVIEW');
    const head = page.locator('.cs-head');
    await waitForText(page, '.cs-summary', 'CRITICAL');
    const summary = (await page.locator('.cs-summary').allInnerTexts()).join('\n').replace(/\s+/g, ' ');
    expect(summary).toMatch(
      /Status pending approval Risk (LOW|MEDIUM|HIGH|CRITICAL) \d+ Priority CRITICAL Deadline in \d+ h/,
    );
    expect((await head.allInnerTexts()).join('\n')).toContain('Ten new panels for the audit view');
    expect((await head.allInnerTexts()).join('\n')).toMatch(/Proposed by Agent-C \(BACKEND agent\) · SECURITY/);
    const why = (await page.getByTestId('why').allInnerTexts()).join('\n');
    expect(why).toMatch(/your approval counts toward Risk review, 0 of \d; Policy: security-needs-security, 0 of 1/);
    // Who else can decide each open step, by name: the group's active members, never the author or old-lead.
    const deciders = page.getByRole('list', { name: 'Who can decide' });
    expect((await deciders.locator('li').allInnerTexts()).map((line) => line.replace(/\s+/g, ' '))).toEqual([
      expect.stringMatching(/^Risk review, 0 of \d: Also eligible: Administrator, Ana Ruiz, Bo Chen\.$/),
      'Policy: security-needs-security, 0 of 1: Also eligible: Ana Ruiz, Bo Chen.',
    ]);
    const headText = (await head.allInnerTexts()).join('\n');
    expect(headText).not.toMatch(/Olu Gone|Sam Okafor|@example\.com|U-/);
    const actions = page.getByRole('group', { name: 'Actions' });
    expect(await actions.getByRole('button').allInnerTexts()).toEqual(['Approve', 'Reject']);
    await expectNoSidewaysScroll(page, 'review desktop');
    await expectAccessible(page, 'review-01-header-desktop', false);
  });

  it('indexes thirty items, folds them, keeps the header in view, and shows creates and deletes as states', async () => {
    const { page } = reviewer;
    const index = page.getByRole('navigation', { name: 'Items' });
    expect(await index.locator('li').count()).toBe(30);
    expect((await index.locator('li').first().allInnerTexts()).join('\n')).toMatch(
      /CREATE UI_COMPONENT \/ ui\.panel-100\s+would apply/,
    );
    // Thirty items start folded: the index comes first.
    expect(await page.locator('.item-toggle[aria-expanded=true]').count()).toBe(0);
    await index.getByRole('link', { name: /DELETE UI_COMPONENT \/ ui\.panel-15/ }).click();
    const deleted = page.locator('article.item', { hasText: 'ui.panel-15' });
    await deleted.locator('table.diff-state-del').waitFor();
    expect((await deleted.locator('thead').allInnerTexts()).join('\n')).toMatch(/Removed state \(version 1\)/);
    expect(await deleted.getByText('Patch operations').count()).toBe(0);
    // The header stays in view while the items scroll under it.
    const bar = await page.locator('.cs-head').boundingBox();
    expect(bar?.y ?? -1).toBeGreaterThanOrEqual(-1);
    expect(bar?.y ?? 99).toBeLessThan(5);
    await page.getByRole('button', { name: 'Approve' }).waitFor();
    expect(await page.getByRole('button', { name: 'Approve' }).isVisible()).toBe(true);

    await page.getByRole('button', { name: 'Expand all' }).click();
    expect(await page.locator('.item-toggle[aria-expanded=true]').count()).toBe(30);
    const created = page.locator('article.item', { hasText: 'ui.panel-100' });
    expect((await created.locator('thead').allInnerTexts()).join('\n')).toMatch(/New state \(version 1\)/);
    expect((await created.locator('ins').first().allInnerTexts()).join('\n')).toBe('{');
    // A reworded title: only the word that changed is marked inside the changed line.
    const updated = page.locator('article.item', { hasText: 'UI_COMPONENT / ui.panel-3' }).first();
    expect(await updated.locator('del .word-changed').allInnerTexts()).toEqual(['weekly']);
    expect(await updated.locator('ins .word-changed').allInnerTexts()).toEqual(['daily']);
    await screenshot(page, 'review-02-items-desktop');
    await page.getByRole('button', { name: 'Collapse all' }).click();
    expect(await page.locator('.item-toggle[aria-expanded=true]').count()).toBe(0);
  });

  it('keeps "viewed" marks per reviewer across a reload', async () => {
    const { page } = reviewer;
    const item = page.locator('article.item', { hasText: 'ui.panel-101' });
    await item.getByLabel('Viewed').check();
    await waitForText(page, '.item-index-head', '1 of 30 viewed');
    await page.reload();
    await waitForText(page, '.item-index-head', '1 of 30 viewed');
    expect(await page.locator('article.item', { hasText: 'ui.panel-101' }).getByLabel('Viewed').isChecked()).toBe(true);
    expect(
      (await page.getByRole('navigation', { name: 'Items' }).locator('li.viewed').allInnerTexts()).join('\n'),
    ).toMatch(/ui\.panel-101[\s\S]*viewed/);
  });

  it('sums the policies up in one line and folds the ones that did not apply', async () => {
    const { page } = reviewer;
    await waitForText(page, '.policy-summary', '7 policies evaluated, 2 applied: 1 require approval, 1 warn.');
    const applied = await page.locator('.policies > .policy-list li').allInnerTexts();
    expect(applied.map((line) => line.split(' on ')[0])).toEqual(['security-needs-security', 'big-change']);
    const rest = page.locator('details.policy-rest');
    expect(await rest.getAttribute('open')).toBeNull();
    expect((await rest.locator('summary').allInnerTexts()).join('\n')).toBe('5 evaluations that did not match');
  });

  it('moves with j and k, opens with o, lists the shortcuts with ?, approves with a; Approve is then gone', async () => {
    const { page } = reviewer;
    await page.locator('h1').click();
    await page.keyboard.press('j');
    const focusedItem = () => page.evaluate<string>('document.activeElement?.getAttribute("id") ?? ""');
    const first = await focusedItem();
    expect(first).toMatch(/^item-/);
    await page.keyboard.press('j');
    const second = await focusedItem();
    expect(second).not.toBe(first);
    await page.keyboard.press('k');
    expect(await focusedItem()).toBe(first);
    await page.keyboard.press('o');
    expect(await page.locator(`#${first} .item-toggle`).getAttribute('aria-expanded')).toBe('true');
    await page.keyboard.press('?');
    const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await help.waitFor();
    expect((await help.allInnerTexts()).join('\n')).toMatch(/j\s+next item or row/);
    await expectAccessible(page, 'review-03-shortcuts', false);
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'detached' });

    await page.keyboard.press('a');
    const dialog = page.getByRole('dialog', { name: /Approve this change-set: CS-REVIEW/ });
    await dialog.waitFor();
    await dialog.getByLabel(/Reason/).fill('all thirty read');
    // Typing "a" and "r" in the reason opened nothing else.
    expect(await page.locator('dialog[open]').count()).toBe(1);
    await dialog.getByRole('button', { name: 'Approve' }).click();
    await dialog.waitFor({ state: 'detached' });
    await waitForText(page, '[data-testid=why]', 'You approved this content. You can change your decision');
    const actions = page.getByRole('group', { name: 'Actions' });
    await actions.getByRole('button', { name: 'Approve' }).waitFor({ state: 'detached' });
    expect(await actions.getByRole('button').allInnerTexts()).toEqual(['Reject']);
    // Who it waits for, by name (the server's deciders), never a group's rule.
    const why = (await page.getByTestId('why').allInnerTexts()).join('\n');
    expect(why).toMatch(/Waits for approvals: .+ needs 1 more approval \((.+, )?Ana Ruiz/);
    expect(why).not.toMatch(/members of|group:/);
    // The Approve button is gone: focus went to the page's heading, not to the page body.
    expect(await activeText(page)).toMatch(/^cs-title\|CS-REVIEW/);
    await expectAccessible(page, 'review-04-after-approve', false);
  });

  it('says what happened when the change-set changes under an open dialog, and holds its confirm', async () => {
    const { page } = reviewer;
    const reject = page.getByRole('group', { name: 'Actions' }).getByRole('button', { name: 'Reject' });
    await reject.click();
    const dialog = page.getByRole('dialog', { name: /Reject this change-set/ });
    await dialog.waitFor();
    await dialog.getByLabel('Reason').fill('on second thought');
    await ok('Agent-C', 'POST', '/changesets/CS-REVIEW/withdraw', { reason: 'one more panel' });
    await waitForText(page, 'dialog[open] [role=alert]', 'Agent-C withdrew it; it is now draft.');
    await waitForText(page, 'dialog[open] [role=alert]', 'You can no longer reject it: it is draft now.');
    await expect
      .poll(() => dialog.getByRole('button', { name: 'Reject' }).isDisabled(), { timeout: 15_000 })
      .toBe(true);
    await expectAccessible(page, 'review-05-live-dialog', false);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await waitForText(page, '[data-testid=why]', 'A draft. Waits for its author Agent-C to submit it.');
    expect(await page.getByRole('group', { name: 'Actions' }).count()).toBe(0);
    expect(await activeText(page)).toMatch(/^cs-title\|/);
    await ok('Agent-C', 'POST', '/changesets/CS-REVIEW/submit');
    // A member of security who left: never listed among those who can decide.
    await ok('admin', 'PATCH', '/principals/old-lead', { active: false });
    await waitForText(page, '.cs-summary', 'pending approval');
    // The reject dialog closed with Escape returns focus to Reject when it is still there.
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('dialog', { name: /Approve/ }).waitFor();
    const focusOnLeave = await focusWhenDialogLeaves(page);
    await page.keyboard.press('Escape');
    await page.getByRole('dialog', { name: /Approve/ }).waitFor({ state: 'detached' });
    // Back on Approve as the dialog leaves, never for a moment on the page body.
    expect(await focusOnLeave()).toBe('|Approve');
    expect(await activeText(page)).toBe('|Approve');
  });

  it('holds the confirm when another approver decides meanwhile, until the reader continues with the new state', async () => {
    const { page } = reviewer;
    await page.getByRole('group', { name: 'Actions' }).getByRole('button', { name: 'Approve' }).click();
    const dialog = page.getByRole('dialog', { name: /Approve this change-set: CS-REVIEW/ });
    await dialog.waitFor();
    const confirm = dialog.getByRole('button', { name: 'Approve' });
    expect(await confirm.isDisabled()).toBe(false);
    // The administrator fills the risk step; the security step still waits, so approving still fits.
    await ok('admin', 'POST', '/changesets/CS-REVIEW/approve', { decision: 'APPROVED', reason: 'risk read' });
    await waitForText(page, 'dialog[open] [role=alert]', 'approved it');
    await expect.poll(() => confirm.isDisabled(), { timeout: 15_000 }).toBe(true);
    await dialog.getByRole('button', { name: 'continue with the new state' }).click();
    await dialog.getByRole('alert').waitFor({ state: 'detached' });
    expect(await confirm.isDisabled()).toBe(false);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await waitForText(page, '.cs-summary', 'pending approval');
  });

  it('tells the past from the history: applied, rolled back, and who moved the target since', async () => {
    const { page } = reviewer;
    await page.goto('/changesets/CS-HIST');
    await waitForText(page, '.cs-summary', 'rolled back');
    const item = page.locator('article.item').first();
    await waitForText(page, '.item-story', 'Applied: version 1 → 2');
    expect((await item.locator('.item-story').allInnerTexts()).join('\n')).toMatch(
      /Applied: version 1 → 2\s+Rolled back: version 2 → 3, restoring the state of version 1/,
    );
    expect((await item.allInnerTexts()).join('\n')).not.toMatch(/would fail|plan:/);
    const moved = item.locator('.item-moved');
    expect((await moved.allInnerTexts()).join('\n')).toMatch(
      /Also written by other change-sets: CS-DRIFT wrote version 4 \(update by Agent-C\)/,
    );
    expect(await moved.getByRole('link', { name: 'CS-DRIFT' }).getAttribute('href')).toBe('/changesets/CS-DRIFT');
    expect(await item.locator('del .word-changed').allInnerTexts()).toEqual(['Hello']);
    expect((await page.getByTestId('why').allInnerTexts()).join('\n')).toMatch(
      /Rolled back\. Waits for its author Agent-C to reopen it/,
    );
    await expectAccessible(page, 'review-06-rolled-back');
  });

  it('warns before applying when the plan says an item would fail, naming it and why', async () => {
    const { page } = author;
    await page.goto('/changesets/CS-STALE');
    await waitForText(page, '.item-moved', /Moved since version 1 by: CS-HIST wrote version 2/);
    expect((await page.locator('.item-moved').allInnerTexts()).join('\n')).toMatch(/CS-DRIFT wrote version 4/);
    await page.getByRole('button', { name: 'Apply…' }).click();
    const dialog = page.getByRole('dialog', { name: /Apply this change-set/ });
    await waitForText(page, 'dialog[open] [role=alert]', /1 item would fail: .*ui\.banner/);
    const apply = dialog.getByRole('button', { name: 'Apply', exact: true });
    expect(await apply.isDisabled()).toBe(true);
    await dialog.getByLabel('I have read this and want to apply anyway').check();
    // The confirmation re-renders the dialog: wait for it (a busy machine renders late).
    await expect.poll(() => apply.isDisabled(), { timeout: 15_000 }).toBe(false);
    await expectAccessible(page, 'review-07-apply-warning', false);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await activeText(page)).toBe('|Apply…');
  });

  it('on a phone: cards, a unified diff, the decision bar in reach, nothing sideways, names unbroken', async () => {
    const { page } = reviewer;
    await page.setViewportSize(PHONE);
    await page.goto('/changesets');
    await page.locator('table.change-sets tbody tr').first().waitFor();
    expect(
      await page.evaluate<string>('getComputedStyle(document.querySelector("table.change-sets tbody tr")).display'),
    ).toBe('block');
    await expectNoSidewaysScroll(page, 'change-sets phone');
    const names = await page.evaluate<number[]>(
      '[...document.querySelectorAll(".name")].map((element) => element.getClientRects().length)',
    );
    expect(names.length).toBeGreaterThan(0);
    expect(names.every((lines) => lines === 1)).toBe(true);
    await expectAccessible(page, 'review-08-list-phone');
    // j and k walk the cards, o opens the one focused.
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await page.keyboard.press('k');
    expect(await page.evaluate<string>('document.activeElement.querySelector(".cs-id").textContent')).toBe('CS-DRIFT');
    await page.keyboard.press('o');
    await page.waitForURL('**/changesets/CS-DRIFT');
    await page.getByRole('link', { name: 'Resources' }).click();
    await page.locator('table.cards tbody tr').first().waitFor();
    await expectNoSidewaysScroll(page, 'resources phone');
    await expectAccessible(page, 'review-08b-resources-phone');
    await page.getByRole('link', { name: 'Review queue' }).click();
    await page.getByRole('heading', { name: 'Review queue' }).waitFor();
    await expectNoSidewaysScroll(page, 'queue phone');
    await expectAccessible(page, 'review-09-queue-phone');

    await page.goto('/changesets/CS-REVIEW');
    await waitForText(page, '.cs-summary', 'pending approval');
    await page.getByRole('button', { name: 'Expand all' }).click();
    await page.locator('table.diff-unified').first().waitFor();
    expect(await page.locator('table.diff:not(.diff-unified):not(.diff-state)').count()).toBe(0);
    const updated = page.locator('article.item', { hasText: 'UI_COMPONENT / ui.panel-3' }).first();
    expect(await updated.locator('tbody tr.diff-removed').count()).toBe(1);
    expect(await updated.locator('tbody tr.diff-added').count()).toBe(1);
    await expectNoSidewaysScroll(page, 'review phone');
    // Who can decide, by name, each name on one line.
    const deciders = page.getByRole('list', { name: 'Who can decide' });
    expect((await deciders.allInnerTexts()).join('\n')).toMatch(/Ana Ruiz, Bo Chen/);
    const deciderNames = await page.evaluate<number[]>(
      '[...document.querySelectorAll(".cs-deciders .name")].map((element) => element.getClientRects().length)',
    );
    expect(deciderNames.length).toBeGreaterThan(1);
    expect(deciderNames.every((lines) => lines === 1)).toBe(true);
    // Risk is in the bar at the top, not a screen-length down.
    const risk = await page.locator('.cs-summary').boundingBox();
    expect(risk?.y ?? 9999).toBeLessThan(300);
    await page.locator('article.item').last().scrollIntoViewIfNeeded();
    const bar = await page.locator('.cs-bar').boundingBox();
    expect(bar?.y ?? 99).toBeLessThan(2);
    expect(await page.getByRole('button', { name: 'Reject' }).isVisible()).toBe(true);
    await screenshot(page, 'review-10-phone-scrolled', false);
    await page.evaluate('window.scrollTo(0, 0)');
    await expectAccessible(page, 'review-11-phone');
    await page.goto('/changesets/CS-HIST');
    await waitForText(page, '.item-story', 'Applied: version 1 → 2');
    await expectNoSidewaysScroll(page, 'rolled back phone');
    await expectAccessible(page, 'review-12-rolled-back-phone');
    await page.goto('/agents/Agent-C');
    await waitForText(page, '[aria-labelledby=record]', 'All time');
    await expectNoSidewaysScroll(page, 'agent phone');
    await expectAccessible(page, 'review-13-agent-phone');
    await page.goto('/overview');
    await waitForText(page, 'main h1', 'Overview');
    await expectNoSidewaysScroll(page, 'overview phone');
  });
});
