// Rewrite streaming and refinement in the demo, against the fake daemon
// (NIB_E2E_SERVER=fake, the default) or the real one. The panel must show
// alternative 0 growing before the preview, and a refined preview must be
// what lands in the document, in one undo step.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { fakeRewrite } from '../fake-server/fake-nib';
import { answerTimeoutMs, screenshot, serverKind, targetName, uiTimeoutMs, useDemo } from './harness';
import { editorLines, savedText, selectParagraph, useDemoPage } from './page';

const setup = useDemo();
let page: Page;

useDemoPage(setup, (p) => (page = p));

const panel = (p: Page) => p.locator('[data-testid=nib-rewrite]');

async function openRewrite(p: Page, paragraphIndex: number): Promise<void> {
  await selectParagraph(p, paragraphIndex);
  const button = p.locator('[data-testid=nib-rewrite-button]');
  await expect.poll(() => button.isEnabled(), { timeout: uiTimeoutMs }).toBe(true);
  await button.click();
  await expect.poll(() => panel(p).getAttribute('data-phase'), { timeout: uiTimeoutMs }).toBe('choosing');
}

async function waitForPreview(p: Page): Promise<void> {
  await panel(p).and(p.locator('[data-phase=preview]')).waitFor({ timeout: answerTimeoutMs });
}

interface StreamRecord {
  /** When the instruction was clicked (performance.now()). */
  clicked: number;
  /** Each distinct text alternative 0 showed while running, with its time. */
  states: { text: string; at: number }[];
  /** The most alternatives shown at once while running. */
  mostStreamed: number;
  /** When the preview appeared. */
  preview: number;
}

/** Records, inside the page, every text the panel's alternative 0 shows
 * while the rewrite runs (a MutationObserver sees each React commit), from
 * the click on `instruction` to the preview. */
function recordStream(p: Page, instruction: string): Promise<void> {
  return p.evaluate((selector) => {
    const record: StreamRecord = { clicked: 0, states: [], mostStreamed: 0, preview: 0 };
    (window as unknown as { nibStream: StreamRecord }).nibStream = record;
    document.querySelector(selector)!.addEventListener('click', () => (record.clicked = performance.now()), { capture: true });
    const observer = new MutationObserver(() => {
      const at = performance.now();
      if (document.querySelector('[data-testid=nib-rewrite][data-phase=preview]')) {
        record.preview = at;
        observer.disconnect();
        return;
      }
      const streamed = document.querySelectorAll('[data-testid=nib-rewrite-running] [data-testid=nib-partial]');
      record.mostStreamed = Math.max(record.mostStreamed, streamed.length);
      const text = document.querySelector('[data-testid=nib-partial][data-index="0"]')?.textContent ?? '';
      const last = record.states[record.states.length - 1];
      if (text !== '' && text !== last?.text) record.states.push({ text, at });
    });
    observer.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  }, `[data-testid=nib-instruction-${instruction}]`);
}

describe(`rewrite streaming and refinement with the ${targetName}`, () => {
  it('shows alternative 0 growing word by word, then the preview', async () => {
    const original = await editorLines(page);
    await openRewrite(page, 0);
    await recordStream(page, 'grammar');
    await page.locator('[data-testid=nib-instruction-grammar]').click();
    await waitForPreview(page);
    await screenshot(page, 'rewrite-stream-preview');
    const record = await page.evaluate(() => (window as unknown as { nibStream: StreamRecord }).nibStream);

    const alternatives = page.locator('[data-testid=nib-alternative]');
    const final = (await alternatives.first().getAttribute('data-text')) ?? '';
    const texts = record.states.map((s) => s.text);
    expect(texts.length, `streamed states: ${JSON.stringify(texts)}`).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < texts.length; i++) {
      expect(texts[i]!.startsWith(texts[i - 1]!), `${JSON.stringify(texts[i - 1])} then ${JSON.stringify(texts[i])}`).toBe(true);
      expect(texts[i]!.length).toBeGreaterThan(texts[i - 1]!.length);
    }
    expect(texts[texts.length - 1]).toBe(final);
    // Alternatives after the first appear while the request still runs.
    const count = await alternatives.count();
    expect(record.mostStreamed).toBeGreaterThanOrEqual(Math.min(count, 2));
    expect(record.clicked).toBeGreaterThan(0);
    expect(record.preview).toBeGreaterThan(record.states[0]!.at);
    expect(await editorLines(page)).toEqual(original);

    const firstWord = Math.round(record.states[0]!.at - record.clicked);
    const full = Math.round(record.preview - record.clicked);
    console.log(`rewrite-stream: instruction to first word ${firstWord} ms, to full preview ${full} ms (${targetName})`);
    await page.keyboard.press('Escape');
    await panel(page).waitFor({ state: 'detached' });
    expect(await editorLines(page)).toEqual(original);
  });

  it('refines the chosen alternative with a follow-up; accepting applies it, and one undo restores the original', async () => {
    const original = await editorLines(page);
    await openRewrite(page, 1);
    await page.locator('[data-testid=nib-instruction-simpler]').click();
    await waitForPreview(page);
    const alternatives = page.locator('[data-testid=nib-alternative]');
    const count = await alternatives.count();
    expect(count).toBeGreaterThanOrEqual(1);
    // Choose the last alternative, so the refinement is visibly not of the first.
    const chosenItem = alternatives.nth(count - 1);
    await chosenItem.locator('.nib-diff').click();
    await expect.poll(() => chosenItem.getAttribute('data-chosen')).toBe('true');
    const chosen = (await chosenItem.getAttribute('data-text')) ?? '';
    expect(chosen.trim()).not.toBe('');
    await screenshot(page, 'rewrite-refine-chosen');

    const followUp = 'Make it shorter';
    await page.locator('[data-testid=nib-refine-input]').fill(followUp);
    await page.keyboard.press('Enter');
    await expect.poll(() => panel(page).getAttribute('data-phase'), { timeout: answerTimeoutMs }).toMatch(/running|preview/);
    await waitForPreview(page);
    expect(await page.locator('[data-testid=nib-rewrite-base]').textContent()).toBe(chosen);
    const refined = (await alternatives.first().getAttribute('data-text')) ?? '';
    expect(refined.trim()).not.toBe('');
    // The fake's rewrite is a known function of its input: the refinement
    // must have rewritten the chosen alternative, not the original.
    if (serverKind === 'fake') expect(refined).toBe(fakeRewrite(chosen, followUp, 0));
    expect(await editorLines(page)).toEqual(original);
    await screenshot(page, 'rewrite-refine-preview');

    // And once more, to show refinements chain.
    await page.locator('[data-testid=nib-refine-input]').fill('Fix the grammar');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('[data-testid=nib-rewrite-base]').textContent(), { timeout: answerTimeoutMs }).toBe(refined);
    await waitForPreview(page);
    const last = (await alternatives.first().getAttribute('data-text')) ?? '';
    if (serverKind === 'fake') expect(last).toBe(fakeRewrite(refined, 'Fix the grammar', 0));
    expect(await editorLines(page)).toEqual(original);

    await page.locator('[data-testid=nib-accept-0]').click();
    await panel(page).waitFor({ state: 'detached' });
    expect(await editorLines(page)).toEqual([original[0], last, ...original.slice(2)]);
    expect((await savedText(page)).split('\n')[1]).toBe(last);
    await screenshot(page, 'rewrite-refine-accepted');

    await page.keyboard.press('Control+z');
    await expect.poll(() => editorLines(page)).toEqual(original);
    expect((await savedText(page)).split('\n')).toEqual(original);
  });
});
