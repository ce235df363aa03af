import { Editor, Node, Text, type Path } from 'slate';
import { describe, expect, it } from 'vitest';
import {
  documentText,
  linePaths,
  pointToPosition,
  positionToPoint,
} from '../../src/mapping/slate-text';
import { ghost, p, quote, richDocument, schemaEditor, t, link } from '../helpers/slate-docs';

describe('documentText', () => {
  it('joins line blocks with "\\n", through containers, marks and inlines', () => {
    const editor = schemaEditor(richDocument());
    expect(documentText(editor, editor)).toBe(
      ['Hello bold 😀 world', '日本語のテキスト、𠀋も。', 'quoted 👩‍👩‍👧 family', 'second link 🔗 after', '', 'last line ✨'].join('\n'),
    );
  });

  it('leaves the ghost suggestion out', () => {
    const editor = schemaEditor([p(t('Hello')), p(t('one '), ghost('SUGGESTION'), t(' two'))]);
    expect(documentText(editor, editor)).toBe('Hello\none  two');
  });

  it('maps an empty editor and a single empty paragraph to the empty text', () => {
    const empty = schemaEditor([]);
    const blank = schemaEditor([p(t(''))]);
    expect(documentText(empty, empty)).toBe('');
    expect(documentText(blank, blank)).toBe('');
  });

  it('lists line paths in document order, skipping containers', () => {
    const editor = schemaEditor(richDocument());
    expect(linePaths(editor, editor)).toEqual([[0], [1], [2, 0], [2, 1], [3], [4]]);
  });
});

describe('pointToPosition', () => {
  it('counts UTF-16 code units across leaves and inlines', () => {
    const editor = schemaEditor(richDocument());
    // "Hello " (6) + "bold 😀" (7: the emoji is two units) + offset 3 in " world".
    expect(pointToPosition(editor, { path: [0, 2], offset: 3 }, editor)).toEqual({ line: 0, character: 16 });
    // Inside the supplementary ideograph's line: "日本語のテキスト、" is 9 units, 𠀋 two.
    expect(pointToPosition(editor, { path: [1, 0], offset: 11 }, editor)).toEqual({ line: 1, character: 11 });
    // In the link inside the quote's second paragraph: "second " (7) + 2.
    expect(pointToPosition(editor, { path: [2, 1, 1, 0], offset: 2 }, editor)).toEqual({ line: 3, character: 9 });
    expect(pointToPosition(editor, { path: [4, 0], offset: 11 }, editor)).toEqual({ line: 5, character: 11 });
  });

  it('puts points after a ghost where they would be without it', () => {
    const editor = schemaEditor([p(t('one '), ghost('xyz'), t(' two'))]);
    expect(pointToPosition(editor, { path: [0, 2], offset: 1 }, editor)).toEqual({ line: 0, character: 5 });
    // A point inside the ghost maps to where the ghost sits.
    expect(pointToPosition(editor, { path: [0, 1, 0], offset: 0 }, editor)).toEqual({ line: 0, character: 4 });
  });
});

describe('positionToPoint', () => {
  it('inverts pointToPosition at every offset of a rich document', () => {
    const editor = schemaEditor(richDocument());
    const text = documentText(editor, editor);
    const lines = text.split('\n');
    lines.forEach((line, index) => {
      for (let character = 0; character <= line.length; character++) {
        const point = positionToPoint(editor, { line: index, character }, editor);
        expect(pointToPosition(editor, point, editor)).toEqual({ line: index, character });
        const leaf = Node.get(editor, point.path);
        expect(Text.isText(leaf)).toBe(true);
      }
    });
  });

  it('prefers the earlier leaf at a boundary, so typed text keeps its marks', () => {
    const editor = schemaEditor([p(t('bold', { bold: true }), t(' plain'))]);
    expect(positionToPoint(editor, { line: 0, character: 4 }, editor)).toEqual({ path: [0, 0], offset: 4 });
  });

  it('steps over the ghost and clamps past the end of a line', () => {
    const editor = schemaEditor([p(t('ab'), ghost('zz'), t('cd'))]);
    expect(positionToPoint(editor, { line: 0, character: 3 }, editor)).toEqual({ path: [0, 2], offset: 1 });
    expect(positionToPoint(editor, { line: 0, character: 99 }, editor)).toEqual({ path: [0, 2], offset: 2 });
    expect(positionToPoint(editor, { line: 7, character: 0 }, editor)).toEqual({ path: [0, 0], offset: 0 });
  });

  it('finds lines inside containers', () => {
    const editor = schemaEditor([p(t('a')), quote(p(t('b')), p(t('c'), link('d'), t('')))]);
    expect(positionToPoint(editor, { line: 2, character: 2 }, editor)).toEqual({ path: [1, 1, 1, 0], offset: 1 });
  });
});

describe('round trip through Slate ranges', () => {
  it('maps the text between two points to the same slice of the daemon text', () => {
    const editor = schemaEditor(richDocument());
    const text = documentText(editor, editor);
    const anchor = { path: [0, 1] as Path, offset: 5 };
    const focus = { path: [2, 1, 1, 0] as Path, offset: 4 };
    const start = pointToPosition(editor, anchor, editor);
    const end = pointToPosition(editor, focus, editor);
    const lines = text.split('\n');
    const offset = (pos: { line: number; character: number }) =>
      lines.slice(0, pos.line).reduce((sum, l) => sum + l.length + 1, 0) + pos.character;
    const slateText = Editor.string(editor, { anchor, focus });
    // Editor.string joins blocks without separators; the daemon text has "\n".
    expect(text.slice(offset(start), offset(end)).replace(/\n/g, '')).toBe(slateText);
    expect(text.slice(offset(start), offset(end))).toBe('😀 world\n日本語のテキスト、𠀋も。\nquoted 👩‍👩‍👧 family\nsecond link');
  });
});
