import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { StoreUnavailableError } from '../../src/core/errors';
import { Dashboard } from '../../src/dashboard/server';
import { Queue } from '../../src/queue';
import { tempSqliteStore, type TempStore } from '../support/temp-store';
import { claim, enqueue, finish, output, startDashboard, type RunningDashboard } from './fixtures';

/*
 * The dashboard in real headless Chromium, driven by playwright-core: the overview's counts and their live change,
 * retrying a dead job, following a running job's output, and a command holding <script> shown as text. Screenshots of
 * the overview and a job page, light and dark, go to test-output/dashboard/ (gitignored). Under CI=true the test runs
 * (Chromium is installed by .ci/run); elsewhere, without Chromium, it is skipped with a one-line reason.
 */

const CHROMIUM = [process.env.QUEUECTL_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => path && existsSync(path));
const SHOTS = join(__dirname, '..', '..', 'test-output', 'dashboard');
const skip = CHROMIUM || process.env.CI === 'true' ? false : 'no Chromium here (set QUEUECTL_CHROMIUM or install chromium)';

/** No network on the test machines: these flags keep Chromium from trying connections of its own. */
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

describe('dashboard in Chromium', { skip }, () => {
  let temp: TempStore;
  let dash: RunningDashboard;
  let browser: Browser;

  before(async () => {
    assert.ok(CHROMIUM, 'CI=true needs Chromium: .ci/run installs it (apt-get install chromium)');
    temp = await tempSqliteStore();
    const { store } = temp;
    for (let i = 1; i <= 3; i++) await enqueue(store, { id: `done-${i}`, command: `echo job ${i}` });
    await enqueue(store, { id: 'broken', command: 'exit 3' });
    await enqueue(store, { id: 'long', command: 'for i in 1 2 3; do echo tick $i; sleep 1; done' });
    await enqueue(store, { id: 'xss', command: '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">', delay: 3600 });
    for (let i = 0; i < 3; i++) await finish(store, await claim(store), 0);
    await finish(store, await claim(store), 3);
    dash = await startDashboard(store);
    const { chromium } = await import('playwright-core');
    // launch() gives Chromium a fresh profile of its own, removed when it closes.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    mkdirSync(SHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await dash?.close();
    await temp?.cleanup();
  });

  const count = (page: Page, state: string) => page.locator(`[data-count="${state}"] .value`);
  const open = async (colorScheme: 'light' | 'dark' = 'light') => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 820 }, colorScheme });
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
    return { page, errors };
  };

  it('the overview shows the counts and follows a change live, without a reload', async () => {
    const { page, errors } = await open();
    await page.goto(dash.url);
    await assertText(count(page, 'completed'), '3');
    await assertText(count(page, 'dead'), '1');
    await assertText(count(page, 'pending'), '2');
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 1));
    await enqueue(temp.store, { id: 'late', command: 'true', delay: 3600 });
    await assertText(count(page, 'pending'), '3');
    assert.equal(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker), 1, 'the page was not reloaded');
    await page.locator('svg.chart rect.ok').first().waitFor();
    await page.screenshot({ path: join(SHOTS, 'overview-light.png'), fullPage: true });
    const dark = await open('dark');
    await dark.page.goto(dash.url);
    await assertText(count(dark.page, 'pending'), '3');
    await dark.page.locator('svg.chart rect.ok').first().waitFor();
    await dark.page.screenshot({ path: join(SHOTS, 'overview-dark.png'), fullPage: true });
    assert.deepEqual([...errors, ...dark.errors], []);
  });

  it('a dead job retried from its page leaves the DLQ', async () => {
    const { page } = await open();
    await page.goto(`${dash.url}#/dlq`);
    await page.locator('tr[data-job="broken"]').waitFor();
    await page.locator('tr[data-job="broken"] a').click();
    await page.locator('h1', { hasText: 'broken' }).waitFor();
    await page.getByRole('button', { name: 'Retry', exact: true }).click();
    await page.locator('.fields [data-state="pending"]').waitFor();
    await page.goto(`${dash.url}#/dlq`);
    await page.getByText('No jobs.').waitFor();
    assert.equal(await page.locator('tr[data-job="broken"]').count(), 0);
  });

  it("a running job's output is followed live", async () => {
    // Claims come in order: the retried `broken` was put back last, so `long` is next.
    const run = await claim(temp.store);
    assert.equal(run.id, 'long');
    const { page, errors } = await open();
    await page.goto(`${dash.url}#/job/long`);
    await page.getByText('(following)').waitFor();
    for (let i = 1; i <= 3; i++) {
      await output(temp.store, run, `tick ${i}\n`);
      await page.locator('pre.output', { hasText: `tick ${i}` }).waitFor();
    }
    await page.screenshot({ path: join(SHOTS, 'job-running-light.png'), fullPage: true });
    await finish(temp.store, run, 0);
    await page.locator('.fields [data-state="completed"]').waitFor();
    const dark = await open('dark');
    await dark.page.goto(`${dash.url}#/job/long`);
    await dark.page.locator('pre.output', { hasText: 'tick 3' }).waitFor();
    await dark.page.screenshot({ path: join(SHOTS, 'job-dark.png'), fullPage: true });
    assert.deepEqual([...errors, ...dark.errors], []);
  });

  it('a command holding <script> and <img onerror> renders as text and runs nothing', async () => {
    const { page } = await open();
    await page.goto(`${dash.url}#/job/xss`);
    const command = page.locator('.fields .mono');
    await command.waitFor();
    assert.equal(await command.textContent(), '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">');
    await page.goto(`${dash.url}#/jobs`);
    await page.locator('tr[data-job="xss"] td.cmd').waitFor();
    assert.match((await page.locator('tr[data-job="xss"] td.cmd').textContent())!, /^<script>/);
    assert.equal(await page.locator('main script, main img').count(), 0);
    assert.equal(await page.evaluate(() => (globalThis as unknown as { pwned?: number }).pwned), undefined);
  });
});

describe('dashboard in Chromium: the store goes away and comes back', { skip }, () => {
  it('shows a banner while the store cannot be opened, and recovers without a reload', async () => {
    assert.ok(CHROMIUM, 'CI=true needs Chromium: .ci/run installs it (apt-get install chromium)');
    const temp = await tempSqliteStore();
    await enqueue(temp.store, { id: 'one', command: 'true', delay: 3600 });
    let down = true;
    const queue = new Queue(temp.store);
    // The dashboard opens its store again after a failed open: here the first opens fail as an unreachable server's do.
    const dashboard = new Dashboard({
      host: '127.0.0.1', port: 0, token: null,
      openQueue: async () => {
        if (down) throw new StoreUnavailableError('cannot reach the PostgreSQL server at db.invalid:5432');
        return queue;
      },
    });
    const { url } = await dashboard.listen();
    let browser: Browser | null = null;
    try {
      const { chromium } = await import('playwright-core');
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
      const page = await browser.newPage({ viewport: { width: 1200, height: 500 } });
      await page.goto(url);
      await page.locator('#banner', { hasText: 'The store is unavailable' }).waitFor();
      await page.screenshot({ path: join(SHOTS, 'store-down-light.png') });
      down = false;
      await page.locator('#banner').waitFor({ state: 'hidden' });
      await page.locator('[data-count="pending"] .value', { hasText: '1' }).waitFor();
    } finally {
      // A failed launch must not leave the dashboard listening: the test file would never end.
      await browser?.close();
      await dashboard.close();
      await temp.cleanup();
    }
  });
});

async function assertText(locator: ReturnType<Page['locator']>, text: string): Promise<void> {
  try {
    await locator.filter({ hasText: new RegExp(`^${text}$`) }).waitFor({ timeout: 10_000 });
  } catch {
    assert.fail(`expected ${text}, saw ${JSON.stringify(await locator.textContent().catch(() => null))}`);
  }
}
