// The rewrite's streaming, refinement and cancellation, and the plugin
// moving to a new client after a reconnect, against the hand-driven fake.
import { Transforms, type Descendant } from 'slate';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyTextEdits } from '../../src/mapping/plain-text';
import type { NibRewriteItem, Range } from '../../src/protocol';
import { FakeClient } from '../helpers/fake-client';
import { expectInSync, pluginEditor, settle } from '../helpers/plugin-editor';
import { p, t } from '../helpers/slate-docs';

const uri = 'untitled:rewrite-test';
let fake: FakeClient;
let editor: ReturnType<typeof setup>;

function setup() {
  const opened = pluginEditor([p(t('First line.')), p(t('Hello '), t('brave', { bold: true }), t(' new world'))], { uri, debounceMs: 100 });
  fake = opened.fake;
  return opened.editor;
}

/** "brave new" on line 1. */
const range: Range = { start: { line: 1, character: 6 }, end: { line: 1, character: 15 } };

function selectBraveNew() {
  Transforms.select(editor, { anchor: { path: [1, 1], offset: 0 }, focus: { path: [1, 2], offset: 4 } });
}

/** An item whose edit turns the daemon's current text under `range` into `text`. */
function item(text: string): NibRewriteItem {
  const edits = [{ range, newText: text }];
  expect(applyTextEdits(fake.text, edits).split('\n')[1]).toBe(`Hello ${text} world`);
  return { text, edits, tokens: 1, finish: 'eos' };
}

function rewriteState() {
  return editor.nib.getState().rewrite;
}

beforeEach(() => {
  editor = setup();
});

afterEach(() => {
  expectInSync(editor, fake);
});

describe('rewrite streaming', () => {
  it('grows alternative 0 and adds the others as they arrive, whole', async () => {
    selectBraveNew();
    editor.nib.startRewrite();
    const running = editor.nib.runRewrite('Make it formal');
    const request = fake.rewrites[0]!;
    expect(request.params.text).toBeUndefined();
    expect(request.params.maxTokens).toBeUndefined();
    const onPartial = request.options.onPartial!;
    onPartial({ index: 0, delta: 'Courageous' });
    expect(rewriteState()).toMatchObject({ phase: 'running', partial: ['Courageous'] });
    onPartial({ index: 0, delta: ' novel' });
    onPartial({ index: 1, delta: 'Bold new' });
    expect(rewriteState()).toMatchObject({ phase: 'running', partial: ['Courageous novel', 'Bold new'] });
    onPartial({ index: 2, delta: 'Daring fresh' });
    expect(rewriteState()).toMatchObject({ partial: ['Courageous novel', 'Bold new', 'Daring fresh'] });
    request.resolve({ items: [item('Courageous novel'), item('Bold new'), item('Daring fresh')], cached: 'none' });
    await running;
    expect(rewriteState()).toMatchObject({ phase: 'preview', alternatives: [{ text: 'Courageous novel' }, { text: 'Bold new' }, { text: 'Daring fresh' }] });
  });

  it('a new instruction while one runs cancels it and ignores anything it still sends', async () => {
    selectBraveNew();
    editor.nib.startRewrite();
    const first = editor.nib.runRewrite('Make it formal');
    fake.rewrites[0]!.options.onPartial!({ index: 0, delta: 'Courageous' });
    const second = editor.nib.runRewrite('Make it shorter');
    expect(fake.rewrites[0]!.aborted).toBe(true);
    expect(rewriteState()).toMatchObject({ phase: 'running', instruction: 'Make it shorter', partial: [] });
    fake.rewrites[0]!.options.onPartial!({ index: 0, delta: ' late' });
    expect(rewriteState()).toMatchObject({ partial: [] });
    fake.rewrites[1]!.resolve({ items: [item('brave')], cached: 'none' });
    await Promise.all([first, second]);
    expect(rewriteState()).toMatchObject({ phase: 'preview', instruction: 'Make it shorter', alternatives: [{ text: 'brave' }] });
  });
});

describe('rewrite refinement', () => {
  it('refines the chosen alternative any number of times and accepts the last as one undo step', async () => {
    const original = JSON.parse(JSON.stringify(editor.children)) as Descendant[];
    selectBraveNew();
    editor.nib.startRewrite();
    const run = editor.nib.runRewrite('Make it formal');
    fake.rewrites[0]!.resolve({ items: [item('courageous novel'), item('bold fresh')], cached: 'none' });
    await run;

    // Refine alternative 1: its text goes as `text`, over the same range.
    const refine = editor.nib.refineRewrite('shorter', 1);
    const request = fake.rewrites[1]!;
    expect(request.params).toMatchObject({ textDocument: { uri, version: 1 }, range, instruction: 'shorter', text: 'bold fresh' });
    expect(rewriteState()).toMatchObject({ phase: 'running', base: 'bold fresh', original: 'brave new' });
    request.options.onPartial!({ index: 0, delta: 'bold' });
    expect(rewriteState()).toMatchObject({ phase: 'running', base: 'bold fresh', partial: ['bold'] });
    request.resolve({ items: [item('bold'), item('fresh')], cached: 'none' });
    await refine;
    expect(rewriteState()).toMatchObject({ phase: 'preview', base: 'bold fresh', original: 'brave new', alternatives: [{ text: 'bold' }, { text: 'fresh' }] });
    // Nothing reaches the document before accepting.
    expect(editor.nib.text().split('\n')[1]).toBe('Hello brave new world');

    const again = editor.nib.refineRewrite('capitalize it', 0);
    expect(fake.rewrites[2]!.params).toMatchObject({ range, text: 'bold' });
    fake.rewrites[2]!.resolve({ items: [item('BOLD')], cached: 'none' });
    await again;

    expect(editor.nib.acceptRewrite(0)).toBe(true);
    await settle();
    expect(rewriteState()).toBeNull();
    expect(editor.nib.text()).toBe('First line.\nHello BOLD world');
    editor.undo();
    await settle();
    expect(editor.children).toEqual(original);
  });

  it('refines only from a preview, and Escape during a refinement goes back to the preview it started from', async () => {
    selectBraveNew();
    editor.nib.startRewrite();
    await editor.nib.refineRewrite('shorter', 0);
    expect(fake.rewrites).toHaveLength(0);
    const run = editor.nib.runRewrite('Make it formal');
    fake.rewrites[0]!.resolve({ items: [item('courageous novel')], cached: 'none' });
    await run;
    await editor.nib.refineRewrite('shorter', 5);
    expect(fake.rewrites).toHaveLength(1);
    const refine = editor.nib.refineRewrite('shorter', 0);
    expect(rewriteState()?.phase).toBe('running');
    editor.nib.cancelRewrite();
    await refine;
    expect(fake.rewrites[1]!.aborted).toBe(true);
    const back = rewriteState();
    expect(back?.phase).toBe('preview');
    expect(back?.phase === 'preview' ? back.alternatives.map((a) => a.text) : []).toEqual(['courageous novel']);
    expect(editor.nib.text()).toBe('First line.\nHello brave new world');
    // A second Escape closes the rewrite, the text untouched.
    editor.nib.cancelRewrite();
    expect(rewriteState()).toBeNull();
    expect(editor.nib.text()).toBe('First line.\nHello brave new world');
  });
});

describe('reconnecting', () => {
  it('survives a client whose connection throws, and sends the document as it stands to the next client', async () => {
    const dead = fake;
    const closed = () => {
      throw new Error('Connection is closed.');
    };
    dead.didChange = closed;
    dead.didClose = closed;
    selectBraveNew();
    editor.nib.startRewrite();
    void editor.nib.runRewrite('Make it formal');
    // What the page does on the client's close event: stop, keep editing.
    editor.nib.close();
    expect(dead.rewrites[0]!.aborted).toBe(true);
    expect(editor.nib.getState()).toMatchObject({ open: false, rewrite: null });
    Transforms.select(editor, { path: [0, 0], offset: 11 });
    editor.insertText(' Typed offline.');
    await settle();

    const next = new FakeClient();
    editor.nib.open(next);
    expect(next.open).toBe(true);
    expect(next.text).toBe('First line. Typed offline.\nHello brave new world');
    expect(editor.nib.getState().open).toBe(true);
    editor.insertText('!');
    await settle();
    expect(next.text).toBe(editor.nib.text());
    expect(next.version).toBe(2);
    selectBraveNew();
    expect(editor.nib.startRewrite()).toBe(true);
    void editor.nib.runRewrite('Make it formal');
    expect(next.rewrites).toHaveLength(1);
    expect(dead.rewrites).toHaveLength(1);
    editor.nib.cancelRewrite();
    fake = next;
  });
});
