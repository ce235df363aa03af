// Ghost text as nib/complete streams it: it grows with each delta, the
// next edit or cursor move takes a partial ghost away, Tab takes what is
// shown, and type-through works while it is still growing.
import { Editor, Node, Transforms } from 'slate';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GHOST_TYPE } from '../../src/mapping/slate-text';
import { handleNibKeyDown, type KeyEventLike } from '../../src/slate/keys';
import type { FakeClient } from '../helpers/fake-client';
import { expectInSync, pluginEditor, settle } from '../helpers/plugin-editor';
import { p, t } from '../helpers/slate-docs';

const uri = 'untitled:ghost-stream-test';
const debounceMs = 100;
let fake: FakeClient;
let editor: ReturnType<typeof setup>;

function setup() {
  const opened = pluginEditor([p(t('The fox')), p(t('second line'))], { uri, debounceMs });
  fake = opened.fake;
  return opened.editor;
}

async function type(text: string): Promise<void> {
  for (const ch of text) {
    editor.insertText(ch);
    await settle();
  }
}

function key(k: string, mods: Partial<KeyEventLike> = {}): boolean {
  return handleNibKeyDown(editor, { key: k, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, preventDefault() {}, ...mods });
}

/** The suggestions of the ghosts in the tree, and the one the state shows. */
function shown(): { tree: string[]; state: string | null } {
  const tree = [...Node.elements(editor)]
    .filter(([n]) => (n as { type?: string }).type === GHOST_TYPE)
    .map(([n]) => (n as { suggestion?: string }).suggestion ?? '');
  return { tree, state: editor.nib.getState().ghost };
}

function line0(): string {
  return editor.nib.text().split('\n')[0]!;
}

async function stream(delta: string): Promise<void> {
  fake.streamCompletion(delta);
  await settle();
}

/** Types at the end of line 0 and lets the debounce send the request. */
async function ask(typed = ' is'): Promise<void> {
  Transforms.select(editor, Editor.end(editor, [0]));
  await type(typed);
  await vi.advanceTimersByTimeAsync(debounceMs);
  expect(fake.completions).toHaveLength(1);
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  editor = setup();
});

afterEach(() => {
  expectInSync(editor, fake);
  vi.useRealTimers();
});

describe('streamed ghost text', () => {
  it('grows with each delta, outside the document text and history, and settles on the answer', async () => {
    await ask();
    // The daemon's own completion settings decide the decoding, as for
    // textDocument/inlineCompletion, so its type-through state is shared.
    expect(fake.completions[0]!.params).toEqual({ textDocument: { uri }, position: { line: 0, character: 'The fox is'.length } });
    expect(editor.nib.getState().completing).toBe(true);
    await stream(' quick');
    expect(shown()).toEqual({ tree: [' quick'], state: ' quick' });
    await stream(' and');
    expect(shown()).toEqual({ tree: [' quick and'], state: ' quick and' });
    expect(editor.selection).toEqual({ anchor: { path: [0, 0], offset: 'The fox is'.length }, focus: { path: [0, 0], offset: 'The fox is'.length } });
    fake.completions[0]!.options.onPartial!({ index: 1, delta: ' other alternative' });
    await settle();
    expect(shown().tree).toEqual([' quick and']);
    fake.answerCompletion(' quick and brown.');
    await settle();
    expect(shown()).toEqual({ tree: [' quick and brown.'], state: ' quick and brown.' });
    expect(editor.nib.getState().completing).toBe(false);
    expect(line0()).toBe('The fox is');
    expect(JSON.stringify(editor.nib.value())).not.toContain('quick');
    expect(JSON.stringify(editor.history.undos)).not.toContain(GHOST_TYPE);
  });

  it('shows nothing for whitespace alone, and the first word when it comes', async () => {
    await ask();
    await stream(' ');
    expect(shown()).toEqual({ tree: [], state: null });
    await stream('quick');
    expect(shown()).toEqual({ tree: [' quick'], state: ' quick' });
  });

  it('a keystroke mid-stream cancels the request and removes the partial ghost', async () => {
    await ask();
    await stream(' quick');
    await type('x');
    expect(fake.completions[0]!.aborted).toBe(true);
    expect(shown()).toEqual({ tree: [], state: null });
    expect(editor.nib.getState().completing).toBe(false);
    // What the cancelled request still sends is ignored.
    fake.completions[0]!.options.onPartial!({ index: 0, delta: ' brown' });
    await settle();
    expect(shown().tree).toEqual([]);
    await vi.advanceTimersByTimeAsync(debounceMs);
    expect(fake.completions).toHaveLength(2);
    expect(line0()).toBe('The fox isx');
  });

  it('a cursor move mid-stream cancels the request and removes the partial ghost', async () => {
    await ask();
    await stream(' quick');
    Transforms.select(editor, { path: [1, 0], offset: 0 });
    await settle();
    expect(fake.completions[0]!.aborted).toBe(true);
    expect(shown()).toEqual({ tree: [], state: null });
  });

  it('Tab mid-stream accepts what is shown in one undo step and cancels the rest', async () => {
    await ask();
    await stream(' quick');
    await stream(' brown');
    expect(key('Tab')).toBe(true);
    await settle();
    expect(fake.completions[0]!.aborted).toBe(true);
    expect(line0()).toBe('The fox is quick brown');
    expect(shown()).toEqual({ tree: [], state: null });
    fake.completions[0]!.options.onPartial!({ index: 0, delta: ' dog' });
    await settle();
    expect(shown().tree).toEqual([]);
    expect(line0()).toBe('The fox is quick brown');
    editor.undo();
    await settle();
    expect(line0()).toBe('The fox is');
  });

  it('type-through consumes a growing ghost while the same request streams on', async () => {
    await ask();
    await stream(' quick');
    await type(' qu');
    expect(shown()).toEqual({ tree: ['ick'], state: 'ick' });
    expect(fake.completions[0]!.aborted).toBe(false);
    await stream(' brown');
    expect(shown()).toEqual({ tree: ['ick brown'], state: 'ick brown' });
    await type('ick b');
    expect(shown().tree).toEqual(['rown']);
    // An answer that comes between a keystroke and its flush is shown once
    // the typed text has reached the daemon.
    fake.answerCompletion(' quick brown fox.');
    editor.insertText('r');
    await settle();
    expect(shown()).toEqual({ tree: ['own fox.'], state: 'own fox.' });
    expect(editor.nib.getState().completing).toBe(false);
    await vi.advanceTimersByTimeAsync(debounceMs * 3);
    expect(fake.completions).toHaveLength(1);
    expect(line0()).toBe('The fox is quick br');
    expect(fake.text.split('\n')[0]).toBe('The fox is quick br');
    expect(JSON.stringify(editor.history.undos)).not.toContain(GHOST_TYPE);
  });

  it('typing through all that is shown waits for the next delta, which shows after the cursor', async () => {
    await ask();
    await stream(' quick');
    await type(' quick');
    expect(shown()).toEqual({ tree: [], state: null });
    expect(fake.completions[0]!.aborted).toBe(false);
    await stream(' brown');
    expect(shown()).toEqual({ tree: [' brown'], state: ' brown' });
    expect(editor.selection?.anchor).toEqual({ path: [0, 0], offset: 'The fox is quick'.length });
  });

  it('Ctrl+Right mid-stream takes one word and the rest streams on', async () => {
    await ask();
    await stream(' quick');
    await stream(' brown');
    expect(key('ArrowRight', { ctrlKey: true })).toBe(true);
    await settle();
    expect(line0()).toBe('The fox is quick');
    expect(shown().tree).toEqual([' brown']);
    await stream(' fox.');
    expect(shown()).toEqual({ tree: [' brown fox.'], state: ' brown fox.' });
    expect(fake.completions[0]!.aborted).toBe(false);
  });
});
