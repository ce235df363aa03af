import { describe, expect, it } from 'vitest';
import { applyContentChanges, applyTextEdits, minimalEdit, offsetAt, positionAt, shift } from '../../src/mapping/plain-text';
import { stripGhosts } from '../../src/slate/ghost';
import { wordDiff } from '../../src/slate/word-diff';
import { ghost, p, t } from '../helpers/slate-docs';

describe('offsetAt and positionAt', () => {
  const text = 'a😀b\n\n日本𠀋';
  it('convert both ways at every offset', () => {
    for (let offset = 0; offset <= text.length; offset++) expect(offsetAt(text, positionAt(text, offset))).toBe(offset);
    expect(positionAt(text, 4)).toEqual({ line: 0, character: 4 });
    expect(positionAt(text, 6)).toEqual({ line: 2, character: 0 });
  });
  it('refuse positions outside the text', () => {
    expect(() => offsetAt(text, { line: 3, character: 0 })).toThrow(RangeError);
    expect(() => offsetAt(text, { line: 0, character: 5 })).toThrow(RangeError);
    expect(() => offsetAt(text, { line: 1, character: 1 })).toThrow(RangeError);
  });
});

describe('applyContentChanges', () => {
  it('applies changes in order, each on the result of the one before', () => {
    const result = applyContentChanges('one\ntwo', [
      { range: { start: { line: 0, character: 3 }, end: { line: 1, character: 0 } }, text: ' ' },
      { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 3 } }, text: '1' },
    ]);
    expect(result).toBe('1 two');
    expect(applyContentChanges('x', [{ text: 'whole' }])).toBe('whole');
  });
});

describe('minimalEdit', () => {
  it('keeps the common prefix and suffix and turns before into after', () => {
    const before = 'line\nthe cat sat';
    const after = 'line\nthe dog sat';
    const edit = minimalEdit(before, after)!;
    expect(edit).toEqual({ range: { start: { line: 1, character: 4 }, end: { line: 1, character: 7 } }, newText: 'dog' });
    expect(applyTextEdits(before, [edit])).toBe(after);
    expect(minimalEdit('same', 'same')).toBeNull();
  });
  it('never splits a surrogate pair', () => {
    const edit = minimalEdit('x😀y', 'x😁y')!;
    expect(edit.newText).toBe('😁');
    expect(edit.range).toEqual({ start: { line: 0, character: 1 }, end: { line: 0, character: 3 } });
    const suffix = minimalEdit('a😀', 'b😀')!;
    expect(suffix.newText).toBe('b');
  });
  it('offsets its positions by an origin', () => {
    expect(minimalEdit('ab', 'aXb', { line: 4, character: 10 })).toEqual({
      range: { start: { line: 4, character: 11 }, end: { line: 4, character: 11 } },
      newText: 'X',
    });
    expect(shift({ line: 2, character: 3 }, 'ab\ncd')).toEqual({ line: 3, character: 2 });
  });
});

describe('wordDiff', () => {
  it('splits into kept, deleted and added words that rebuild both texts', () => {
    const parts = wordDiff('the quick brown fox', 'the slow brown dog');
    expect(parts).toEqual([
      { kind: 'same', text: 'the ' },
      { kind: 'del', text: 'quick' },
      { kind: 'add', text: 'slow' },
      { kind: 'same', text: ' brown ' },
      { kind: 'del', text: 'fox' },
      { kind: 'add', text: 'dog' },
    ]);
    const join = (kinds: string[]) => parts.filter((x) => kinds.includes(x.kind)).map((x) => x.text).join('');
    expect(join(['same', 'del'])).toBe('the quick brown fox');
    expect(join(['same', 'add'])).toBe('the slow brown dog');
  });
});

describe('stripGhosts', () => {
  it('removes ghosts and merges the leaves they separated', () => {
    expect(stripGhosts([p(t('ab'), ghost('zz'), t('cd')), p(t('x', { bold: true }), ghost('q'), t('y'))])).toEqual([
      p(t('abcd')),
      p(t('x', { bold: true }), t('y')),
    ]);
  });
});
