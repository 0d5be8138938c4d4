/**
 * The Temporal Web UI, in a real headless Chromium (Debian's, driven by playwright-core): a finished
 * job shows its summary, its plan details and an activity timeline labelled by what each step does,
 * and the workflow list filters on renga's search attributes. Screenshots go to test-output/.
 * Without a Chromium the test is skipped, and says so; it never passes vacuously.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { getResult, startJob, type RengaClient } from '../client/api';
import { REPO, startStack, type TestStack } from './helpers/stack';

const CHROMIUM = process.env.RENGA_CHROMIUM ?? '/usr/bin/chromium';
const haveBrowser = existsSync(CHROMIUM);
const OUT = path.join(REPO, 'test-output');

if (!haveBrowser) {
  console.warn(`SKIPPED web UI test: no Chromium at ${CHROMIUM} (apt-get install chromium, or set RENGA_CHROMIUM)`);
}
const browserTest = haveBrowser ? test : test.skip;

let stack: TestStack;
let browser: Browser;
let rc: RengaClient;

beforeAll(async () => {
  if (!haveBrowser) return;
  mkdirSync(OUT, { recursive: true });
  stack = await startStack({ server: { uiPort: undefined } });
  await stack.startWorker();
  rc = stack.rc;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // This machine's network is closed: background services would only fail and slow the start.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

browserTest(
  'a finished job shows its summary, plan details and labelled activities; the list filters on search attributes',
  async () => {
    const id = await startJob(rc, { job: 'Survey three rainwater harvesting methods', maxSubtasks: 3 });
    const doc = await getResult(rc, id);
    expect(doc.status).toBe('completed');
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const ui = stack.server.uiUrl!;

    await page.goto(`${ui}/namespaces/default/workflows/${id}`);
    // The timeline labels each activity with its type and renga's summary.
    await page.getByText('planJob • plan').waitFor();
    for (const s of doc.plan!.subtasks) await page.getByText(`runSubtask • subtask ${s.id}: ${s.title}`).waitFor();
    await page.getByText('synthesize • synthesize').waitFor();
    await page.screenshot({ path: path.join(OUT, 'ui-timeline.png') });

    await page.getByText('User Metadata', { exact: true }).click();
    // The UI renders user-supplied Markdown in sandboxed frames: summary, details, current details.
    const frames = page.frameLocator('iframe');
    await frames.nth(0).getByText('Survey three rainwater harvesting methods · up to 3 subtasks').waitFor();
    await frames.nth(1).getByText('Max subtasks:').waitFor();
    await frames
      .nth(2)
      .getByText(/Phase: done · status: completed/)
      .waitFor();
    for (const s of doc.plan!.subtasks) await frames.nth(2).getByRole('cell', { name: s.title }).waitFor();
    await page.screenshot({ path: path.join(OUT, 'ui-metadata.png') });

    const query = `RengaPhase = 'done' AND RengaCostUsd > 0`;
    await page.goto(`${ui}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
    await page.getByRole('link', { name: id }).waitFor();
    await page.screenshot({ path: path.join(OUT, 'ui-filter.png') });
    await page.close();
  },
);
