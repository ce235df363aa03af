// Ghost text streams in the demo: after the last keystroke the ghost shows
// its first word before the whole suggestion, and grows by appending. The
// page records the ghost on its own clock, at every DOM change and every
// 10 ms, so the round trips of the test driver neither hide states nor
// skew the timings, which are printed for BENCHMARKS.md. Runs against the fake daemon, the real one
// (NIB_E2E_SERVER=real) or the in-page engine (NIB_E2E_ENGINE=browser).
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { answerTimeoutMs, targetName, useDemo } from './harness';
import { caretAtEnd, editorLines, ghost, savedText, useDemoPage, waitForGhost } from './page';

const setup = useDemo();
let page: Page;

interface GhostSample {
  /** The ghost's text, null while there is none. */
  text: string | null;
  streaming: boolean;
  /** performance.now() in the page. */
  at: number;
}

interface GhostTrace {
  lastKeyAt: number;
  samples: GhostSample[];
}

declare global {
  interface Window {
    nibGhostTrace?: GhostTrace;
  }
}

/** Starts recording the ghost, keeping each change, and the time of every
 * keystroke. A 10 ms poll alone can miss a state that lasts less on a busy
 * machine; a MutationObserver sees every change React commits. */
async function traceGhost(page: Page): Promise<void> {
  await page.evaluate(() => {
    const trace: GhostTrace = { lastKeyAt: 0, samples: [] };
    window.nibGhostTrace = trace;
    document.addEventListener('keydown', () => (trace.lastKeyAt = performance.now()), true);
    const sample = () => {
      const element = document.querySelector('[data-nib-ghost]');
      let text: string | null = null;
      if (element) {
        const copy = element.cloneNode(true) as Element;
        copy.querySelectorAll('[data-slate-spacer]').forEach((s) => s.remove());
        text = (copy.textContent ?? '').replace(/\uFEFF/g, '');
      }
      const streaming = element?.hasAttribute('data-nib-streaming') ?? false;
      const last = trace.samples[trace.samples.length - 1];
      if (!last || last.text !== text || last.streaming !== streaming) trace.samples.push({ text, streaming, at: performance.now() });
    };
    setInterval(sample, 10);
    new MutationObserver(sample).observe(document.querySelector('[data-testid=editor]')!, { subtree: true, childList: true, characterData: true, attributes: true });
  });
}

function readTrace(page: Page): Promise<GhostTrace> {
  return page.evaluate(() => window.nibGhostTrace!);
}

interface StreamTiming {
  firstWordMs: number;
  fullMs: number;
  states: string[];
}

/** Types `text` at the end of paragraph `index`, waits for the whole
 * suggestion, and checks from the trace that it streamed: at least two
 * states after the last keystroke, each growing the one before, the
 * first with a visible word, all but the last marked as streaming, and no
 * gap without a ghost once it showed. */
async function typeAndWatchStream(index: number, text: string): Promise<StreamTiming> {
  await caretAtEnd(page, index);
  await page.evaluate(() => (window.nibGhostTrace!.samples = []));
  await page.keyboard.type(text, { delay: 25 });
  const suggestion = await waitForGhost(page, answerTimeoutMs);
  // The sampler's view catches up within its period.
  await expect.poll(async () => (await readTrace(page)).samples.at(-1)).toMatchObject({ text: suggestion, streaming: false });

  const trace = await readTrace(page);
  const afterKeys = trace.samples.filter((s) => s.at >= trace.lastKeyAt);
  const firstShown = afterKeys.findIndex((s) => s.text !== null);
  expect(firstShown).toBeGreaterThanOrEqual(0);
  const shown = afterKeys.slice(firstShown);
  expect(shown.every((s) => s.text !== null)).toBe(true);
  const states: GhostSample[] = [];
  for (const sample of shown) if (sample.text !== states.at(-1)?.text) states.push(sample);
  const texts = states.map((s) => s.text!);

  expect(texts.length).toBeGreaterThanOrEqual(2);
  expect(texts[0]!.trim()).not.toBe('');
  for (let i = 1; i < texts.length; i++) {
    expect(texts[i]!.startsWith(texts[i - 1]!)).toBe(true);
    expect(texts[i]!.length).toBeGreaterThan(texts[i - 1]!.length);
  }
  expect(texts.at(-1)).toBe(suggestion);
  expect(states.slice(0, -1).every((s) => s.streaming)).toBe(true);
  const first = states[0]!;
  const full = states.at(-1)!;
  expect(first.at).toBeLessThan(full.at);
  return { firstWordMs: first.at - trace.lastKeyAt, fullMs: full.at - trace.lastKeyAt, states: texts };
}

useDemoPage(setup, (p) => (page = p), { ready: traceGhost });

describe(`ghost text streaming with the ${targetName}`, () => {
  it('shows the first word before the whole suggestion, growing word by word, outside the document', async () => {
    const lines = await editorLines(page);
    // The first request also pays for compiling the model's GPU pipelines;
    // the timing worth recording is a later one.
    const cold = await typeAndWatchStream(3, ' The weather today');
    await page.keyboard.press('Escape');
    await ghost(page).waitFor({ state: 'detached' });
    console.log(`ghost-stream: first request: keystroke to first word ${Math.round(cold.firstWordMs)} ms, to full suggestion ${Math.round(cold.fullMs)} ms (${targetName})`);

    // Another paragraph, so the daemon's type-through state for the first
    // suggestion cannot answer it whole.
    const warm = await typeAndWatchStream(1, ' It is fast');
    console.log(`ghost-stream: keystroke to first word ${Math.round(warm.firstWordMs)} ms, to full suggestion ${Math.round(warm.fullMs)} ms (${targetName}; ${warm.states.length} states: ${JSON.stringify(warm.states)})`);

    // Streamed text stays out of the document and the saved value.
    const suggestion = warm.states.at(-1)!;
    expect((await editorLines(page))[1]).toBe(`${lines[1]} It is fast`);
    expect((await savedText(page)).split('\n')[1]).toBe(`${lines[1]} It is fast`);
    expect(await savedText(page)).not.toContain(suggestion.trim());
  });
});
