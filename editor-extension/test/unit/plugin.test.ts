import { Editor, Node, Transforms, type Descendant } from 'slate';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GHOST_TYPE } from '../../src/mapping/slate-text';
import { handleNibKeyDown, type KeyEventLike } from '../../src/slate/keys';
import type { FakeClient } from '../helpers/fake-client';
import { expectInSync, pluginEditor, settle } from '../helpers/plugin-editor';
import { p, t } from '../helpers/slate-docs';

const uri = 'untitled:plugin-test';
const debounceMs = 100;
let fake: FakeClient;
let editor: ReturnType<typeof setup>;

function setup(children: Descendant[]) {
  const opened = pluginEditor(children, { uri, debounceMs });
  fake = opened.fake;
  return opened.editor;
}

function doc(): Descendant[] {
  return [p(t('Hello 😀 world')), p(t('日本語のテキスト')), p(t('Hello '), t('brave', { bold: true }), t(' new world'))];
}

async function type(text: string): Promise<void> {
  for (const ch of text) {
    editor.insertText(ch);
    await settle();
  }
}

function key(k: string, mods: Partial<KeyEventLike> = {}) {
  const event = { key: k, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, prevented: false, preventDefault() {
    event.prevented = true;
  }, ...mods };
  const handled = handleNibKeyDown(editor, event);
  return { handled, prevented: event.prevented };
}

function ghosts() {
  return [...Node.elements(editor)].filter(([n]) => (n as { type?: string }).type === GHOST_TYPE);
}

/** Types at the end of line 0 and answers the completion with `suggestion`. */
async function showGhost(suggestion: string, typed = '!') {
  Transforms.select(editor, Editor.end(editor, [0]));
  await type(typed);
  await vi.advanceTimersByTimeAsync(debounceMs);
  fake.answerCompletion(suggestion);
  await settle();
  await settle();
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  editor = setup(doc());
});

afterEach(() => {
  expectInSync(editor, fake);
  vi.useRealTimers();
});

describe('document sync', () => {
  it('opens with the text and sends each flush as an incremental didChange with the next version', async () => {
    expect(fake.text).toBe('Hello 😀 world\n日本語のテキスト\nHello brave new world');
    expect(fake.version).toBe(1);
    Transforms.select(editor, { path: [1, 0], offset: 3 });
    await type('𠀋x');
    editor.insertBreak();
    await settle();
    Transforms.delete(editor, { at: { anchor: { path: [0, 0], offset: 6 }, focus: { path: [1, 0], offset: 2 } } });
    await settle();
    editor.undo();
    await settle();
    expect(fake.text).toBe('Hello 😀 world\n日本語𠀋x\nのテキスト\nHello brave new world');
    expect(fake.changes.map((c) => c.version)).toEqual([2, 3, 4, 5, 6]);
    expect(fake.changes.every((c) => c.changes.every((change) => 'range' in change))).toBe(true);
  });

  it('splits a block where inserted text holds a line break, so lines stay blocks', async () => {
    Transforms.insertText(editor, 'one\ntwo\r\nthree 😀', { at: { path: [1, 0], offset: 3 } });
    await settle();
    expect(editor.children).toHaveLength(5);
    expect(editor.nib.text()).toBe('Hello 😀 world\n日本語one\ntwo\nthree 😀のテキスト\nHello brave new world');
    expect([...Node.texts(editor)].every(([leaf]) => !/[\r\n]/.test(leaf.text))).toBe(true);
    editor.undo();
    await settle();
    expect(editor.nib.text()).toBe('Hello 😀 world\n日本語のテキスト\nHello brave new world');
  });

  it('opens a value whose leaves hold line breaks as one block per line', () => {
    editor = setup([p(t('first\r\nsecond 😀'), t('\nthird', { bold: true }))]);
    expect(editor.children).toHaveLength(3);
    expect(fake.text).toBe('first\nsecond 😀\nthird');
  });

  it('close sends didClose and removes the ghost', async () => {
    await showGhost(' suggestion');
    editor.nib.close();
    await settle();
    expect(fake.open).toBe(false);
    expect(ghosts()).toHaveLength(0);
  });
});

describe('completion requests', () => {
  it('waits for typing to pause, then asks once at the UTF-16 cursor', async () => {
    Transforms.select(editor, Editor.end(editor, [0]));
    await type('a');
    await vi.advanceTimersByTimeAsync(debounceMs / 2);
    await type('b');
    await vi.advanceTimersByTimeAsync(debounceMs / 2);
    await type('c');
    expect(fake.completions).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(debounceMs);
    expect(fake.completions).toHaveLength(1);
    expect(fake.completions[0]!.params.position).toEqual({ line: 0, character: 'Hello 😀 worldabc'.length });
    expect(fake.completions[0]!.params.textDocument.uri).toBe(uri);
    // The daemon had the typed text before the request went out.
    expect(fake.version).toBe(4);
  });

  it('aborts the request in flight when a newer edit supersedes it', async () => {
    Transforms.select(editor, Editor.end(editor, [0]));
    await type('a');
    await vi.advanceTimersByTimeAsync(debounceMs);
    expect(fake.completions).toHaveLength(1);
    await type('b');
    expect(fake.completions[0]!.aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(debounceMs);
    expect(fake.completions).toHaveLength(2);
    fake.completions[0]!.resolve({ items: [{ text: 'stale', tokens: 1, finish: 'eos' }], cached: 'none' });
    await settle();
    expect(ghosts()).toHaveLength(0);
  });

  it('does not ask inside a word', async () => {
    Transforms.select(editor, { path: [0, 0], offset: 2 });
    await type('x');
    await vi.advanceTimersByTimeAsync(debounceMs * 3);
    expect(fake.completions).toHaveLength(0);
  });

  it('neither asks nor shows during IME composition, and leaves a shown ghost alone', async () => {
    Transforms.select(editor, Editor.end(editor, [0]));
    await type('a');
    await vi.advanceTimersByTimeAsync(debounceMs);
    editor.nib.setComposing(true);
    expect(fake.completions[0]!.aborted).toBe(true);
    editor.nib.setComposing(false);
    await showGhost(' ghost');
    const before = JSON.stringify(editor.children);
    editor.nib.setComposing(true);
    await vi.advanceTimersByTimeAsync(debounceMs * 3);
    expect(JSON.stringify(editor.children)).toBe(before);
    editor.nib.setComposing(false);
  });
});

describe('ghost text', () => {
  it('shows the suggestion in a ghost element outside the document text, history and fragments', async () => {
    await showGhost(' and more');
    const [entry] = ghosts();
    expect(entry?.[1]).toEqual([0, 1]);
    expect((entry?.[0] as { suggestion?: string }).suggestion).toBe(' and more');
    expect(editor.isVoid(entry![0]) && editor.isInline(entry![0])).toBe(true);
    expect(editor.selection).toEqual({ anchor: { path: [0, 0], offset: 15 }, focus: { path: [0, 0], offset: 15 } });
    expect(editor.nib.text()).toBe('Hello 😀 world!\n日本語のテキスト\nHello brave new world');
    expect(JSON.stringify(editor.nib.value())).not.toContain('and more');
    Transforms.select(editor, { anchor: { path: [0, 0], offset: 0 }, focus: { path: [0, 2], offset: 0 } });
    expect(JSON.stringify(editor.getFragment())).not.toContain('and more');
    await settle();
    expect(editor.nib.getState().ghost).toBeNull();
    // History holds the typed "!" and nothing of the ghost.
    expect(editor.history.undos).toHaveLength(1);
    expect(JSON.stringify(editor.history.undos)).not.toContain(GHOST_TYPE);
  });

  it('Tab accepts the whole suggestion as its own undo step', async () => {
    await showGhost(' and more');
    expect(key('Tab')).toEqual({ handled: true, prevented: true });
    await settle();
    expect(ghosts()).toHaveLength(0);
    expect(editor.nib.text().split('\n')[0]).toBe('Hello 😀 world! and more');
    expect(fake.text.split('\n')[0]).toBe('Hello 😀 world! and more');
    editor.undo();
    await settle();
    expect(editor.nib.text().split('\n')[0]).toBe('Hello 😀 world!');
  });

  it('Escape dismisses without touching text or history', async () => {
    await showGhost(' and more');
    const version = fake.version;
    const undos = editor.history.undos.length;
    expect(key('Escape').handled).toBe(true);
    await settle();
    expect(ghosts()).toHaveLength(0);
    expect(fake.version).toBe(version);
    expect(editor.history.undos.length).toBe(undos);
    expect(editor.nib.getState().ghost).toBeNull();
  });

  it('Ctrl+Right (or Cmd+Right) accepts one word at a time', async () => {
    await showGhost(' quick brown fox.');
    expect(key('ArrowRight', { ctrlKey: true }).handled).toBe(true);
    await settle();
    expect(editor.nib.text().split('\n')[0]).toBe('Hello 😀 world! quick');
    expect(editor.nib.getState().ghost).toBe(' brown fox.');
    expect(key('ArrowRight', { metaKey: true }).handled).toBe(true);
    await settle();
    expect(editor.nib.text().split('\n')[0]).toBe('Hello 😀 world! quick brown');
    expect(ghosts().map(([n]) => (n as { suggestion?: string }).suggestion)).toEqual([' fox.']);
  });

  it('typing the suggestion consumes it without asking again', async () => {
    await showGhost(' abc');
    await type(' a');
    expect(editor.nib.getState().ghost).toBe('bc');
    await vi.advanceTimersByTimeAsync(debounceMs * 3);
    expect(fake.completions).toHaveLength(1);
    expect(editor.nib.text().split('\n')[0]).toBe('Hello 😀 world! a');
    editor.undo();
    await settle();
    expect(ghosts()).toHaveLength(0);
    expect(editor.nib.text().split('\n')[0]).toBe('Hello 😀 world');
  });

  it('typing something else dismisses the ghost and asks again', async () => {
    await showGhost(' abc');
    await type('x');
    expect(ghosts()).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(debounceMs);
    expect(fake.completions).toHaveLength(2);
  });

  it('moving the cursor away dismisses the ghost', async () => {
    await showGhost(' abc');
    Transforms.select(editor, { path: [1, 0], offset: 1 });
    await settle();
    expect(ghosts()).toHaveLength(0);
    expect(editor.nib.getState().ghost).toBeNull();
  });

  it('keys do nothing without a ghost, so Tab and Escape keep their usual meaning', () => {
    expect(key('Tab')).toEqual({ handled: false, prevented: false });
    expect(key('Escape')).toEqual({ handled: false, prevented: false });
    expect(key('ArrowRight', { ctrlKey: true })).toEqual({ handled: false, prevented: false });
  });
});

describe('rewrite', () => {
  const selectBraveNew = () =>
    Transforms.select(editor, { anchor: { path: [2, 1], offset: 0 }, focus: { path: [2, 2], offset: 4 } });

  it('previews streamed alternatives and applies one as edits that keep marks and undo in one step', async () => {
    const original = JSON.parse(JSON.stringify(editor.children)) as Descendant[];
    selectBraveNew();
    expect(key('E', { ctrlKey: true, shiftKey: true })).toEqual({ handled: true, prevented: true });
    expect(editor.nib.getState().rewrite).toMatchObject({ phase: 'choosing', original: 'brave new' });
    const running = editor.nib.runRewrite('Fix the grammar');
    const request = fake.rewrites[0]!;
    expect(request.params).toMatchObject({
      textDocument: { uri, version: 1 },
      range: { start: { line: 2, character: 6 }, end: { line: 2, character: 15 } },
      instruction: 'Fix the grammar',
      n: 3,
    });
    request.options.onPartial!({ index: 0, delta: 'Brave' });
    request.options.onPartial!({ index: 0, delta: ' new' });
    // The daemon omits an empty delta: nothing is appended.
    request.options.onPartial!({ index: 0 });
    expect(editor.nib.getState().rewrite).toMatchObject({ phase: 'running', partial: ['Brave new'] });
    request.options.onPartial!({ index: 0, reset: 'Brav' });
    expect(editor.nib.getState().rewrite).toMatchObject({ phase: 'running', partial: ['Brav'] });
    request.resolve({
      items: [
        { text: 'Brave new', edits: [{ range: { start: { line: 2, character: 6 }, end: { line: 2, character: 7 } }, newText: 'B' }], tokens: 2, finish: 'eos' },
        { text: 'bold new', edits: [{ range: { start: { line: 2, character: 6 }, end: { line: 2, character: 11 } }, newText: 'bold' }], tokens: 2, finish: 'eos' },
      ],
      cached: 'none',
    });
    await running;
    const state = editor.nib.getState().rewrite;
    expect(state?.phase).toBe('preview');
    expect(state?.phase === 'preview' && state.alternatives.map((a) => a.text)).toEqual(['Brave new', 'bold new']);
    expect(editor.nib.text().split('\n')[2]).toBe('Hello brave new world');
    expect(editor.nib.acceptRewrite(0)).toBe(true);
    await settle();
    expect(editor.nib.getState().rewrite).toBeNull();
    expect(editor.nib.text().split('\n')[2]).toBe('Hello Brave new world');
    expect((editor.children[2] as { children: Descendant[] }).children).toEqual([t('Hello '), t('Brave', { bold: true }), t(' new world')]);
    editor.undo();
    await settle();
    expect(editor.children).toEqual(original);
  });

  it('refuses to apply a preview once the document has changed', async () => {
    selectBraveNew();
    editor.nib.startRewrite();
    const running = editor.nib.runRewrite('Make it shorter');
    fake.rewrites[0]!.resolve({ items: [{ text: 'brave', edits: [{ range: { start: { line: 2, character: 11 }, end: { line: 2, character: 15 } }, newText: '' }], tokens: 1, finish: 'eos' }], cached: 'none' });
    await running;
    Transforms.insertText(editor, 'Oh, ', { at: { path: [2, 0], offset: 0 } });
    await settle();
    expect(editor.nib.acceptRewrite(0)).toBe(false);
    expect(editor.nib.getState().rewrite).toMatchObject({ phase: 'failed' });
    expect(editor.nib.text().split('\n')[2]).toBe('Oh, Hello brave new world');
  });

  it('applies the text itself when the daemon edits do not produce it, and reports that', async () => {
    selectBraveNew();
    editor.nib.startRewrite();
    const running = editor.nib.runRewrite('Make it simpler');
    fake.rewrites[0]!.resolve({ items: [{ text: 'kind old', edits: [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 5 } }, newText: 'zzz' }], tokens: 2, finish: 'eos' }], cached: 'none' });
    await running;
    expect(editor.nib.acceptRewrite(0)).toBe(true);
    await settle();
    expect(editor.nib.text()).toBe('Hello 😀 world\n日本語のテキスト\nHello kind old world');
    expect(editor.nib.getState().error).toMatch(/do not give its text/);
  });

  it('a multi-line alternative splits the paragraph and undo joins it back', async () => {
    const original = JSON.parse(JSON.stringify(editor.children)) as Descendant[];
    selectBraveNew();
    editor.nib.startRewrite();
    const running = editor.nib.runRewrite('Split it');
    fake.rewrites[0]!.resolve({ items: [{ text: 'brave\nnew 🌍', edits: [], tokens: 3, finish: 'eos' }], cached: 'none' });
    await running;
    expect(editor.nib.acceptRewrite(0)).toBe(true);
    await settle();
    expect(editor.nib.text()).toBe('Hello 😀 world\n日本語のテキスト\nHello brave\nnew 🌍 world');
    expect(editor.children).toHaveLength(4);
    editor.undo();
    await settle();
    expect(editor.children).toEqual(original);
  });

  it('Escape closes the rewrite; a collapsed selection cannot start one', async () => {
    Transforms.select(editor, { path: [0, 0], offset: 1 });
    expect(key('e', { metaKey: true, shiftKey: true }).handled).toBe(false);
    selectBraveNew();
    expect(editor.nib.startRewrite()).toBe(true);
    const running = editor.nib.runRewrite('x');
    expect(key('Escape').handled).toBe(true);
    expect(fake.rewrites[0]!.aborted).toBe(true);
    await running;
    expect(editor.nib.getState().rewrite).toBeNull();
  });
});

describe('workspace/applyEdit', () => {
  it('applies edits made for the current version as one undo step and refuses stale ones', async () => {
    const handler = fake.applyEditHandler!;
    const edit = (version: number) => ({
      edit: { documentChanges: [{ textDocument: { uri, version }, edits: [{ range: { start: { line: 1, character: 0 }, end: { line: 1, character: 3 } }, newText: '中文' }] }] },
    });
    expect(await handler(edit(1))).toEqual({ applied: true });
    await settle();
    expect(editor.nib.text().split('\n')[1]).toBe('中文のテキスト');
    expect((await handler(edit(1))).applied).toBe(false);
    expect((await handler({ edit: { changes: { 'untitled:other': [] } } })).applied).toBe(false);
    editor.undo();
    await settle();
    expect(editor.nib.text().split('\n')[1]).toBe('日本語のテキスト');
  });
});
