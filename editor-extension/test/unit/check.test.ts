import { Editor, Transforms, type Descendant } from 'slate';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mapRange } from '../../src/mapping/ranges';
import type { NibCheckDiagnostic, Range as LspRange } from '../../src/protocol';
import { handleNibKeyDown } from '../../src/slate/keys';
import type { FakeClient } from '../helpers/fake-client';
import { expectInSync, pluginEditor, settle } from '../helpers/plugin-editor';
import { p, t } from '../helpers/slate-docs';

const uri = 'untitled:check-test';
let fake: FakeClient;
let editor: ReturnType<typeof setup>;

function setup(children: Descendant[]) {
  const opened = pluginEditor(children, { uri, debounceMs: 100 });
  fake = opened.fake;
  return opened.editor;
}

function doc(): Descendant[] {
  return [p(t('I dont recieve teh mail.')), p(t('Hello '), t('brave', { bold: true }), t(' new world'))];
}

function range(line: number, start: number, end: number): LspRange {
  return { start: { line, character: start }, end: { line, character: end } };
}

function diagnostic(at: LspRange, old: string, replacement: string, sentence = 'I dont recieve teh mail.'): NibCheckDiagnostic {
  return {
    range: at,
    severity: 3,
    code: 'grammar',
    source: 'nib',
    message: `"${old}" → "${replacement}"`,
    data: { sentence, correction: 'I don\'t receive the mail.', old, new: replacement },
  };
}

/** The three typos of line 0, as the daemon reports them at `version`. */
function publishTypos(version = 1) {
  fake.publishDiagnostics({
    uri,
    version,
    diagnostics: [diagnostic(range(0, 2, 6), 'dont', "don't"), diagnostic(range(0, 7, 14), 'recieve', 'receive'), diagnostic(range(0, 15, 18), 'teh', 'the')],
  });
}

/** What each flag underlines now, in the editor's own text. */
function underlined(): string[] {
  return editor.nib.checks().map(({ range: r }) => Editor.string(editor, r));
}

function idOf(old: string): string {
  const flag = editor.nib.getState().checks.find((f) => f.data.old === old);
  if (!flag) throw new Error(`no flag for ${old}`);
  return flag.id;
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  editor = setup(doc());
});

afterEach(() => {
  expectInSync(editor, fake);
  vi.useRealTimers();
});

describe('mapRange', () => {
  const word = range(0, 4, 7);
  const change = (start: number, end: number, text: string, line = 0) => ({ range: range(line, start, end), text });

  it('moves a range past changes before it and keeps it through changes after it', () => {
    expect(mapRange(word, change(0, 1, 'ab'))).toEqual(range(0, 5, 8));
    expect(mapRange(word, change(8, 9, ''))).toEqual(word);
    expect(mapRange(word, change(1, 1, 'x\ny'))).toEqual(range(1, 4, 7));
    expect(mapRange(range(2, 1, 3), { range: { start: { line: 0, character: 3 }, end: { line: 1, character: 0 } }, text: '' })).toEqual(range(1, 1, 3));
  });

  it('drops a range whose text is edited, or glued onto, and keeps it when white space separates', () => {
    expect(mapRange(word, change(5, 6, 'z'))).toBeNull();
    expect(mapRange(word, change(4, 4, 'x'))).toBeNull();
    expect(mapRange(word, change(7, 7, 's'))).toBeNull();
    expect(mapRange(word, change(3, 4, ''))).toBeNull();
    expect(mapRange(word, change(4, 4, ' '))).toEqual(range(0, 5, 8));
    expect(mapRange(word, change(4, 4, '\n'))).toEqual(range(1, 0, 3));
    expect(mapRange(word, change(7, 7, ' more'))).toEqual(word);
    expect(mapRange(range(0, 4, 4), change(4, 4, ' '))).toBeNull();
    expect(mapRange(word, { text: 'whole' })).toBeNull();
  });
});

describe('checking', () => {
  it('underlines the flagged words as decorations: the document and its history are untouched', () => {
    const before = JSON.parse(JSON.stringify(editor.children)) as Descendant[];
    publishTypos();
    expect(editor.nib.getState().checks.map((f) => f.message)).toEqual(['"dont" → "don\'t"', '"recieve" → "receive"', '"teh" → "the"']);
    expect(underlined()).toEqual(['dont', 'recieve', 'teh']);
    expect(editor.children).toEqual(before);
    expect(editor.history.undos).toHaveLength(0);
  });

  it('underlines across leaves with different marks, and the word after an insertion point', () => {
    fake.publishDiagnostics({
      uri,
      version: 1,
      diagnostics: [diagnostic(range(1, 6, 15), 'brave new', 'new', 'Hello brave new world'), diagnostic(range(0, 15, 15), '', 'the ', 'x')],
    });
    expect(underlined()).toEqual(['teh', 'brave new']);
  });

  it('keeps flags on their words through edits elsewhere and drops a flag whose words are edited', async () => {
    publishTypos();
    Transforms.insertText(editor, 'Oh, ', { at: { path: [0, 0], offset: 0 } });
    await settle();
    expect(underlined()).toEqual(['dont', 'recieve', 'teh']);
    expect(editor.nib.getState().checks[0]!.range).toEqual(range(0, 6, 10));
    Transforms.insertText(editor, 'x', { at: { path: [0, 0], offset: 13 } });
    await settle();
    expect(editor.nib.text().split('\n')[0]).toBe('Oh, I dont rexcieve teh mail.');
    expect(underlined()).toEqual(['dont', 'teh']);
    Transforms.splitNodes(editor, { at: { path: [0, 0], offset: 0 }, always: true });
    await settle();
    expect(underlined()).toEqual(['dont', 'teh']);
    expect(editor.nib.getState().checks[0]!.range.start.line).toBe(1);
  });

  it('maps a result for an older version through the edits since, and ignores one it cannot place', async () => {
    Transforms.insertText(editor, 'Well, ', { at: { path: [0, 0], offset: 0 } });
    await settle();
    Transforms.delete(editor, { at: { anchor: { path: [0, 0], offset: 21 }, focus: { path: [0, 0], offset: 24 } } });
    await settle();
    expect(editor.nib.text().split('\n')[0]).toBe('Well, I dont recieve  mail.');
    expect(fake.version).toBe(3);
    publishTypos(1);
    expect(underlined()).toEqual(['dont', 'recieve']);
    // Nothing newer than the editor's version, nothing without a version,
    // and nothing older than what the history reaches back to.
    fake.publishDiagnostics({ uri, version: 9, diagnostics: [diagnostic(range(0, 0, 4), 'Well', 'Good')] });
    fake.publishDiagnostics({ uri, diagnostics: [diagnostic(range(0, 0, 4), 'Well', 'Good')] });
    publishTypos(0);
    expect(underlined()).toEqual(['dont', 'recieve']);
    fake.publishDiagnostics({ uri, version: 3, diagnostics: [] });
    publishTypos(2);
    expect(underlined()).toEqual([]);
  });

  it('accepts a correction in one undo step, with the marks of the words it replaces', async () => {
    fake.publishDiagnostics({ uri, version: 1, diagnostics: [diagnostic(range(1, 6, 11), 'brave', 'bold', 'Hello brave new world')] });
    const original = JSON.parse(JSON.stringify(editor.children)) as Descendant[];
    expect(editor.nib.acceptCheck(idOf('brave'))).toBe(true);
    await settle();
    expect(editor.nib.text().split('\n')[1]).toBe('Hello bold new world');
    expect((editor.children[1] as { children: Descendant[] }).children).toEqual([t('Hello '), t('bold', { bold: true }), t(' new world')]);
    expect(editor.selection?.anchor).toEqual({ path: [1, 1], offset: 4 });
    expect(editor.nib.getState().checks).toEqual([]);
    expect(editor.history.undos).toHaveLength(1);
    editor.undo();
    await settle();
    expect(editor.children).toEqual(original);
    expect(editor.nib.acceptCheck('no-such-flag')).toBe(false);
  });

  it('accepts an insertion where the words go, and leaves the other flags in place', async () => {
    fake.publishDiagnostics({
      uri,
      version: 1,
      diagnostics: [diagnostic(range(0, 19, 19), '', 'own '), diagnostic(range(0, 15, 18), 'teh', 'the')],
    });
    expect(underlined()).toEqual(['teh', 'mail.']);
    expect(editor.nib.acceptCheck(editor.nib.getState().checks[1]!.id)).toBe(true);
    await settle();
    expect(editor.nib.text().split('\n')[0]).toBe('I dont recieve teh own mail.');
    expect(underlined()).toEqual(['teh']);
  });

  it('ignoring asks the daemon and removes the flags at once; results sent before it answered do not bring them back', async () => {
    publishTypos();
    let answer: () => void = () => {};
    fake.ignoreInDocument = (...args) => {
      fake.ignores.push(args);
      return new Promise<void>((resolve) => (answer = resolve));
    };
    const ignoring = editor.nib.ignoreCheckInDocument(idOf('teh'));
    expect(fake.ignores).toEqual([[uri, 'teh', 'the']]);
    expect(underlined()).toEqual(['dont', 'recieve']);
    publishTypos();
    expect(underlined()).toEqual(['dont', 'recieve']);
    answer();
    await ignoring;

    await editor.nib.ignoreCheckSentence(idOf('dont'));
    expect(fake.ignores[1]).toEqual({ sentence: 'I dont recieve teh mail.' });
    expect(editor.nib.getState().checks).toEqual([]);
    expect(editor.history.undos).toHaveLength(0);
  });

  it('shows a suggestion on hover until the pointer has been away a while, keeps a clicked one, and closes it on Escape or an edit', async () => {
    publishTypos();
    const id = idOf('teh');
    editor.nib.showCheck(id);
    expect(editor.nib.getState().checkPopover).toEqual({ id, pinned: false });
    editor.nib.hideCheck(300);
    editor.nib.showCheck(id);
    await vi.advanceTimersByTimeAsync(300);
    expect(editor.nib.getState().checkPopover).toEqual({ id, pinned: false });
    editor.nib.hideCheck(300);
    await vi.advanceTimersByTimeAsync(300);
    expect(editor.nib.getState().checkPopover).toBeNull();

    editor.nib.showCheck(id, true);
    editor.nib.hideCheck(300);
    await vi.advanceTimersByTimeAsync(300);
    expect(editor.nib.getState().checkPopover).toEqual({ id, pinned: true });
    const escape = { key: 'Escape', ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, preventDefault() {} };
    expect(handleNibKeyDown(editor, escape)).toBe(true);
    expect(editor.nib.getState().checkPopover).toBeNull();

    editor.nib.showCheck(id, true);
    Transforms.insertText(editor, '!', { at: Editor.end(editor, [1]) });
    await settle();
    expect(editor.nib.getState().checkPopover).toBeNull();
  });

  it('close removes the flags and stops listening', () => {
    publishTypos();
    editor.nib.close();
    expect(editor.nib.getState().checks).toEqual([]);
    expect(fake.diagnosticsListeners.size).toBe(0);
  });
});
