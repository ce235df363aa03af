// Reading the demo page's state from its DOM, the way a user sees it.
import type { Locator, Page } from 'playwright-core';
import { afterEach, beforeEach, expect } from 'vitest';

export const editor = (page: Page): Locator => page.locator('[data-testid=editor]');
export const paragraph = (page: Page, index: number): Locator => editor(page).locator(':scope > [data-slate-node=element]').nth(index);
export const ghost = (page: Page): Locator => page.locator('[data-nib-ghost]');

/** The editor's lines as rendered, leaving the ghost out: the text leaves
 * (data-slate-string) of each paragraph, outside any ghost element. */
export function editorLines(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const root = document.querySelector('[data-testid=editor]')!;
    return [...root.querySelectorAll(':scope > [data-slate-node=element]')].map((p) =>
      [...p.querySelectorAll('[data-slate-string]')]
        .filter((leaf) => !leaf.closest('[data-nib-ghost]'))
        .map((leaf) => leaf.textContent ?? '')
        .join(''),
    );
  });
}

/** The suggestion shown in the ghost, without Slate's zero-width spacer. */
export function ghostText(page: Page): Promise<string | null> {
  return page.evaluate(() => {
    const element = document.querySelector('[data-nib-ghost]');
    if (!element) return null;
    const copy = element.cloneNode(true) as Element;
    copy.querySelectorAll('[data-slate-spacer]').forEach((s) => s.remove());
    return (copy.textContent ?? '').replace(/\uFEFF/g, '');
  });
}

/** Whether the caret sits at the end of the text leaf right before the ghost. */
export function caretBeforeGhost(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const element = document.querySelector('[data-nib-ghost]');
    const selection = document.getSelection();
    if (!element || !selection || !selection.isCollapsed || !selection.anchorNode) return false;
    const leaf = selection.anchorNode.parentElement?.closest('[data-slate-leaf]');
    const before = element.previousElementSibling;
    const atEnd = selection.anchorOffset === (selection.anchorNode.textContent ?? '').length;
    return !!leaf && !!before && before.contains(leaf) && atEnd;
  });
}

export async function savedText(page: Page): Promise<string> {
  return (await page.locator('[data-testid=saved]').textContent()) ?? '';
}

export async function errorMessages(page: Page): Promise<string[]> {
  return page.locator('[data-testid=messages] li[data-level=error]').allTextContents();
}

/** Opens the demo and waits for the model. */
export async function openDemo(page: Page, url: string, timeoutMs = 180_000): Promise<void> {
  await page.goto(url);
  await page.locator('[data-testid=status][data-model-state=ready]').waitFor({ timeout: timeoutMs });
}

/** Puts the caret at the end of paragraph `index`. */
export async function caretAtEnd(page: Page, index: number): Promise<void> {
  await paragraph(page, index).click();
  await page.keyboard.press('End');
}

/** Selects the whole of paragraph `index` with the keyboard. */
export async function selectParagraph(page: Page, index: number): Promise<void> {
  await paragraph(page, index).click();
  await page.keyboard.press('Home');
  await page.keyboard.press('Shift+End');
}

/** Waits for the whole suggestion: a ghost with text that has stopped
 * streaming. */
export async function waitForGhost(page: Page, timeoutMs = 20_000): Promise<string> {
  await page.waitForFunction(() => {
    const element = document.querySelector('[data-nib-ghost]');
    return !!element && !element.hasAttribute('data-nib-streaming') && (element.textContent ?? '').replace(/\uFEFF/g, '').trim() !== '';
  }, undefined, { timeout: timeoutMs });
  return (await ghostText(page)) ?? '';
}

/** Checking's underlines in paragraph `index` (words to insert left out
 * when `replacing`: their underline is on a neighbouring word). */
export const checkMarks = (page: Page, index: number, replacing = false): Locator =>
  paragraph(page, index).locator(replacing ? '[data-nib-check]:not([data-nib-insert])' : '[data-nib-check]');

export const checkPopover = (page: Page): Locator => page.locator('[data-testid=nib-check-popover]');

/** The flag `id` as drawn: its underlined text (a flag may span several
 * leaves), its change, and where in its paragraph's text it starts. */
export function flagged(page: Page, id: string): Promise<{ text: string; old: string; new: string; offset: number }> {
  return page.evaluate((flagId) => {
    const marks = [...document.querySelectorAll(`[data-nib-check="${CSS.escape(flagId)}"]`)];
    const first = marks[0];
    if (!first) throw new Error(`no underline for ${flagId}`);
    const line = first.closest('[data-testid=editor] > [data-slate-node=element]')!;
    let offset = 0;
    for (const leaf of line.querySelectorAll('[data-slate-string]')) {
      if (leaf.closest('[data-nib-ghost]')) continue;
      if (first.contains(leaf)) break;
      offset += (leaf.textContent ?? '').length;
    }
    return {
      text: marks.map((m) => m.textContent ?? '').join(''),
      old: first.getAttribute('data-nib-old') ?? '',
      new: first.getAttribute('data-nib-new') ?? '',
      offset,
    };
  }, id);
}

/**
 * Opens the demo in a fresh page before each test (then runs `ready`, if
 * given) and hands it to `use`; after each test, fails it on any uncaught
 * page error and, unless `clean` is false (a test that kills the daemon
 * expects messages), on any error message the page shows or any resync
 * the plugin needed (the fake reports any didChange it cannot apply), and
 * closes the page.
 */
export function useDemoPage(
  setup: { readonly demo: { url: string }; readonly browser: { context: { newPage(): Promise<Page> } } },
  use: (page: Page) => void,
  options: { clean?: boolean; ready?: (page: Page) => Promise<void> } = {},
): void {
  let page: Page | undefined;
  const pageErrors: string[] = [];
  beforeEach(async () => {
    pageErrors.length = 0;
    page = await setup.browser.context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await openDemo(page, setup.demo.url);
    await options.ready?.(page);
    use(page);
  });
  afterEach(async () => {
    if (!page) return;
    if (options.clean !== false) {
      expect(await errorMessages(page)).toEqual([]);
      expect(await page.locator('[data-testid=sync]').getAttribute('data-resyncs')).toBe('0');
    }
    expect(pageErrors).toEqual([]);
    await page.close();
  });
}
