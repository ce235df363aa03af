// Checking in the demo's Chromium, against the fake daemon (its typo
// table) or the real one (NIB_E2E_SERVER=real). The assertions hold for
// both: they check the page against what the underline and the suggestion
// say, never a model's words. The rule is relaxed so that the fixture
// model's random "corrections" are reported too; the fake ignores it.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { answerTimeoutMs, screenshot, targetName, useDemo } from './harness';
import { caretAtEnd, checkMarks, checkPopover, editor, editorLines, flagged, savedText, useDemoPage } from './page';

const setup = useDemo({ check: { enabled: true, maxChangedWords: 1000, maxChangedChars: 100000, minGain: -1000, debounceMs: 200 } });
let page: Page;
const typed = ' I dont recieve teh mail.';

useDemoPage(setup, (p) => (page = p));

/** Types `text` at the end of paragraph `index` and waits for an underline
 * there; returns the first one's flag id. */
async function typeAndWaitForFlag(index: number, text: string, replacing: boolean): Promise<string> {
  await caretAtEnd(page, index);
  await page.keyboard.type(text, { delay: 25 });
  const mark = checkMarks(page, index, replacing).first();
  await mark.waitFor({ timeout: answerTimeoutMs });
  return (await mark.getAttribute('data-nib-check'))!;
}

describe(`checking with the ${targetName}`, () => {
  it('underlines the flagged words, shows the change on hover, accepts it in one undo step', async () => {
    const id = await typeAndWaitForFlag(3, typed, true);
    const before = (await editorLines(page))[3]!;
    expect(before).toBe(`Write here:${typed}`);
    // The underline is drawn, not written: the saved text is the typed text.
    expect((await savedText(page)).split('\n')[3]).toBe(before);
    expect(await savedText(page)).toBe((await editorLines(page)).join('\n'));

    const flag = await flagged(page, id);
    expect(flag.old).not.toBe('');
    expect(flag.text).toBe(flag.old);
    expect(before.slice(flag.offset, flag.offset + flag.old.length)).toBe(flag.old);

    await page.locator(`[data-nib-check="${id}"]`).first().hover();
    await checkPopover(page).waitFor();
    expect(await checkPopover(page).getAttribute('data-old')).toBe(flag.old);
    expect(await checkPopover(page).getAttribute('data-new')).toBe(flag.new);
    await screenshot(page, 'check-1-suggestion');

    const corrected = before.slice(0, flag.offset) + flag.new + before.slice(flag.offset + flag.old.length);
    await page.locator('[data-testid=nib-check-accept]').click();
    await expect.poll(async () => (await editorLines(page))[3]).toBe(corrected);
    expect((await savedText(page)).split('\n')[3]).toBe(corrected);
    await checkPopover(page).waitFor({ state: 'detached' });
    await expect.poll(() => editor(page).evaluate((e) => e === document.activeElement || e.contains(document.activeElement))).toBe(true);
    await screenshot(page, 'check-2-accepted');

    await page.keyboard.press('Control+z');
    await expect.poll(async () => (await editorLines(page))[3]).toBe(before);
    expect((await savedText(page)).split('\n')[3]).toBe(before);
  });

  it('Ignore in document drops that change; Ignore sentence drops the sentence', async () => {
    const first = await typeAndWaitForFlag(3, typed, false);
    const flag = await flagged(page, first);
    await page.locator(`[data-nib-check="${first}"]`).first().hover();
    await page.locator('[data-testid=nib-check-ignore-document]').click();
    const sameChange = page.locator(`[data-nib-check][data-nib-old="${cssString(flag.old)}"][data-nib-new="${cssString(flag.new)}"]`);
    await expect.poll(() => sameChange.count()).toBe(0);
    await screenshot(page, 'check-3-ignored-in-document');

    await page.keyboard.press('Enter');
    const second = await typeAndWaitForFlag(4, 'Teh cat sat on teh mat.', false);
    await page.locator(`[data-nib-check="${second}"]`).first().hover();
    await page.locator('[data-testid=nib-check-ignore-sentence]').click();
    await expect.poll(() => checkMarks(page, 4).count()).toBe(0);
    // Ignoring changes the daemon's memory, never the text.
    expect((await editorLines(page)).slice(3, 5)).toEqual([`Write here:${typed}`, 'Teh cat sat on teh mat.']);
    await screenshot(page, 'check-4-ignored-sentence');
  });

  it('the toggle turns checking off and on again', async () => {
    await typeAndWaitForFlag(3, typed, false);
    await page.locator('[data-testid=check-toggle]').uncheck();
    await expect.poll(() => page.locator('[data-nib-check]').count(), { timeout: answerTimeoutMs }).toBe(0);
    await page.locator('[data-testid=check-toggle]').check();
    await checkMarks(page, 3).first().waitFor({ timeout: answerTimeoutMs });
  });
});

/** `text` for a CSS attribute selector in double quotes. */
function cssString(text: string): string {
  return text.replace(/["\\]/g, '\\$&');
}
