// The demo in Chromium, against the fake daemon (NIB_E2E_SERVER=fake, the
// default) or the real one (NIB_E2E_SERVER=real). Assertions hold for both:
// they check what the page shows against what was typed and what the
// preview offered, never the model's exact words. Each state is also saved
// as a screenshot under test-results/<server>/.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { answerTimeoutMs, screenshot, targetName, uiTimeoutMs, useDemo } from './harness';
import {
  caretAtEnd,
  caretBeforeGhost,
  editor,
  editorLines,
  ghost,
  ghostText,
  paragraph,
  savedText,
  selectParagraph,
  useDemoPage,
  waitForGhost,
} from './page';

const setup = useDemo();
let page: Page;

useDemoPage(setup, (p) => (page = p));

describe(`demo with the ${targetName}`, () => {
  it('shows ghost text after the cursor, keeps it out of the document, and Tab accepts it', async () => {
    const initial = await editorLines(page);
    await caretAtEnd(page, 3);
    await page.keyboard.type(' The weather today', { delay: 25 });
    const suggestion = await waitForGhost(page, answerTimeoutMs);

    const lines = await editorLines(page);
    expect(lines[3]).toBe('Write here: The weather today');
    expect(lines.slice(0, 3)).toEqual(initial.slice(0, 3));
    expect(await ghost(page).getAttribute('contenteditable')).toBe('false');
    expect(await paragraph(page, 3).locator('[data-nib-ghost]').count()).toBe(1);
    expect(await caretBeforeGhost(page)).toBe(true);
    expect(await savedText(page)).not.toContain(suggestion.trim());
    expect((await savedText(page)).split('\n')[3]).toBe('Write here: The weather today');
    await screenshot(page, '1-ghost');

    await page.keyboard.press('Tab');
    await ghost(page).waitFor({ state: 'detached' });
    const accepted = await editorLines(page);
    expect(accepted[3]).toBe(`Write here: The weather today${suggestion}`);
    expect((await savedText(page)).split('\n')[3]).toBe(`Write here: The weather today${suggestion}`);
    await expect.poll(() => editor(page).evaluate((e) => e === document.activeElement || e.contains(document.activeElement))).toBe(true);
    await screenshot(page, '2-accepted');
  });

  it('Escape dismisses the ghost, and Ctrl+Right takes one word of it', async () => {
    await caretAtEnd(page, 3);
    await page.keyboard.type(' Hello', { delay: 25 });
    await waitForGhost(page, answerTimeoutMs);
    await page.keyboard.press('Escape');
    await ghost(page).waitFor({ state: 'detached' });
    expect((await editorLines(page))[3]).toBe('Write here: Hello');
    await screenshot(page, '3-dismissed');

    await page.keyboard.type(' again', { delay: 25 });
    const suggestion = await waitForGhost(page, answerTimeoutMs);
    const word = /^\s*\S+/u.exec(suggestion)![0];
    await page.keyboard.press('Control+ArrowRight');
    await expect.poll(async () => (await editorLines(page))[3]).toBe(`Write here: Hello again${word}`);
    const rest = suggestion.slice(word.length);
    if (rest.trim() === '') await ghost(page).waitFor({ state: 'detached' });
    else await expect.poll(() => ghostText(page)).toBe(rest);
    await screenshot(page, '4-one-word');
  });

  it('IME composition next to the ghost leaves it in place until the text is committed', async () => {
    await caretAtEnd(page, 3);
    await page.keyboard.type(' Tokyo', { delay: 25 });
    const suggestion = await waitForGhost(page, answerTimeoutMs);
    // Chromium's IME emulation: an uncommitted composition, then its commit.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Input.imeSetComposition', { text: 'にほ', selectionStart: 2, selectionEnd: 2 });
    await expect.poll(() => paragraph(page, 3).evaluate((p) => p.textContent?.includes('にほ') ?? false)).toBe(true);
    // The ghost is untouched while the composition lasts, and still after it.
    expect(await ghostText(page)).toBe(suggestion);
    expect(await paragraph(page, 3).evaluate((p) => {
      const text = (p.textContent ?? '').replace(/\uFEFF/g, '');
      return text.indexOf('にほ') < text.indexOf((p.querySelector('[data-nib-ghost]')?.textContent ?? '').replace(/\uFEFF/g, '').trim());
    })).toBe(true);
    await screenshot(page, '5-ime-composing');
    await cdp.send('Input.insertText', { text: '日本' });
    await expect.poll(async () => (await editorLines(page))[3]).toBe('Write here: Tokyo日本');
    await expect.poll(async () => (await savedText(page)).split('\n')[3]).toBe('Write here: Tokyo日本');
    await cdp.detach();
  });

  it('rewrites a selection from the toolbar: preview, accept, and undo restores the original', async () => {
    const original = await editorLines(page);
    await selectParagraph(page, 0);
    const button = page.locator('[data-testid=nib-rewrite-button]');
    await expect.poll(() => button.isEnabled(), { timeout: uiTimeoutMs }).toBe(true);
    await button.click();
    const panel = page.locator('[data-testid=nib-rewrite]');
    await expect.poll(() => panel.getAttribute('data-phase'), { timeout: uiTimeoutMs }).toBe('choosing');
    expect(await page.locator('[data-testid=nib-rewrite-original]').textContent()).toBe(original[0]);
    expect((await page.locator('.nib-rewrite-target').allTextContents()).join('')).toBe(original[0]);
    await screenshot(page, '6-rewrite-choose');

    await page.locator('[data-testid=nib-instruction-grammar]').click();
    await panel.and(page.locator('[data-phase=preview]')).waitFor({ timeout: answerTimeoutMs });
    const alternatives = page.locator('[data-testid=nib-alternative]');
    expect(await alternatives.count()).toBeGreaterThanOrEqual(1);
    const first = (await alternatives.first().getAttribute('data-text')) ?? '';
    expect(first.trim()).not.toBe('');
    expect(first).not.toBe(original[0]);
    // The preview shows the change as a diff of the selected text...
    expect(await alternatives.first().locator('ins, del').count()).toBeGreaterThan(0);
    const shown = await alternatives.first().locator('.nib-diff').evaluate((d) =>
      [...d.childNodes].filter((n) => (n as Element).tagName !== 'DEL').map((n) => n.textContent).join(''),
    );
    expect(shown).toBe(first);
    // ...and leaves the document alone until one is accepted.
    expect(await editorLines(page)).toEqual(original);
    await screenshot(page, '7-rewrite-preview');

    await page.locator('[data-testid=nib-accept-0]').click();
    await panel.waitFor({ state: 'detached' });
    const rewritten = await editorLines(page);
    expect(rewritten).toEqual([first, ...original.slice(1)]);
    expect((await savedText(page)).split('\n')[0]).toBe(first);
    await screenshot(page, '8-rewrite-accepted');

    await page.keyboard.press('Control+z');
    await expect.poll(() => editorLines(page)).toEqual(original);
    expect((await savedText(page)).split('\n')).toEqual(original);
    await screenshot(page, '9-undo');
  });

  it('rewrites with the keyboard shortcut and a typed instruction; Escape leaves the text unchanged', async () => {
    const original = await editorLines(page);
    await selectParagraph(page, 1);
    await page.keyboard.press('Control+Shift+E');
    const panel = page.locator('[data-testid=nib-rewrite]');
    await expect.poll(() => panel.getAttribute('data-phase'), { timeout: uiTimeoutMs }).toBe('choosing');
    await page.locator('[data-testid=nib-instruction-input]').fill('Make it sound cheerful');
    await page.keyboard.press('Enter');
    await panel.and(page.locator('[data-phase=preview]')).waitFor({ timeout: answerTimeoutMs });
    expect(await page.locator('[data-testid=nib-alternative]').count()).toBeGreaterThanOrEqual(1);
    await screenshot(page, '10-rewrite-typed-instruction');
    await page.keyboard.press('Escape');
    await panel.waitFor({ state: 'detached' });
    expect(await editorLines(page)).toEqual(original);
  });
});
