// The daemon dies under the demo page: the page must stay (the document
// intact and editable, a message saying what happened), and one click on
// Reconnect must bring suggestions back from a new daemon.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { answerTimeoutMs, screenshot, targetName, useDemo } from './harness';
import { caretAtEnd, editor, editorLines, errorMessages, ghost, savedText, useDemoPage, waitForGhost } from './page';

const setup = useDemo();
let page: Page;

useDemoPage(setup, (p) => (page = p), { clean: false });

describe(`the ${targetName} dies under the demo`, () => {
  it('keeps the page and the document, says what happened, and Reconnect brings suggestions back', async () => {
    await caretAtEnd(page, 3);
    await page.keyboard.type(' Before', { delay: 25 });
    await waitForGhost(page, answerTimeoutMs);
    await page.keyboard.press('Escape');
    await ghost(page).waitFor({ state: 'detached' });
    const before = await editorLines(page);

    const pid = setup.demo.daemonPid();
    process.kill(pid, 'SIGKILL');
    const banner = page.locator('[data-testid=connection][data-state=lost]');
    await banner.waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-testid=connection-message]').textContent()).toContain('the daemon stopped');
    expect(await editor(page).isVisible()).toBe(true);
    expect(await editorLines(page)).toEqual(before);
    expect(await page.locator('[data-testid=nib-rewrite-button]').isDisabled()).toBe(true);
    await screenshot(page, 'daemon-died');

    // Still an editor: typing works, and asks nothing of the dead daemon.
    await caretAtEnd(page, 3);
    await page.keyboard.type(' offline', { delay: 25 });
    await expect.poll(async () => (await editorLines(page))[3]).toBe(`${before[3]} offline`);
    expect((await savedText(page)).split('\n')[3]).toBe(`${before[3]} offline`);
    expect(await ghost(page).count()).toBe(0);

    await page.locator('[data-testid=reconnect]').click();
    await page.locator('[data-testid=connection]').waitFor({ state: 'detached', timeout: answerTimeoutMs });
    expect(setup.demo.daemonPid()).not.toBe(pid);
    await page.locator('[data-testid=status][data-model-state=ready]').waitFor({ timeout: answerTimeoutMs });
    await caretAtEnd(page, 3);
    await page.keyboard.type(' again', { delay: 25 });
    const suggestion = await waitForGhost(page, answerTimeoutMs);
    expect(suggestion.trim()).not.toBe('');
    expect((await editorLines(page))[3]).toBe(`${before[3]} offline again`);
    await screenshot(page, 'daemon-reconnected');
    // The new daemon got the document as it stands, in step: it reports
    // any change it cannot apply, and the plugin any resync.
    await page.keyboard.press('Tab');
    await ghost(page).waitFor({ state: 'detached' });
    expect((await editorLines(page))[3]).toBe(`${before[3]} offline again${suggestion}`);
    expect(await errorMessages(page)).toEqual([]);
    expect(await page.locator('[data-testid=sync]').getAttribute('data-resyncs')).toBe('0');
  });
});
