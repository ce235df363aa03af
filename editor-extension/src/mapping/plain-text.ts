// Plain-text side of the mapping: the daemon's document is the editor's
// paragraphs joined by "\n", and positions count UTF-16 code units, which
// is exactly what JavaScript string indices count.
import type { Position, Range, TextDocumentContentChangeEvent, TextEdit } from '../protocol';

/** The offset of `position` in `text`; throws when it lies outside, since a
 * position that misses the text means the two sides disagree. */
export function offsetAt(text: string, position: Position): number {
  let lineStart = 0;
  for (let line = 0; line < position.line; line++) {
    const next = text.indexOf('\n', lineStart);
    if (next < 0) throw new RangeError(`line ${position.line} is past the last line (${line})`);
    lineStart = next + 1;
  }
  let lineEnd = text.indexOf('\n', lineStart);
  if (lineEnd < 0) lineEnd = text.length;
  if (position.character < 0 || position.character > lineEnd - lineStart) {
    throw new RangeError(`character ${position.character} is outside line ${position.line} (length ${lineEnd - lineStart})`);
  }
  return lineStart + position.character;
}

/** The position of `offset` in `text`. */
export function positionAt(text: string, offset: number): Position {
  if (offset < 0 || offset > text.length) throw new RangeError(`offset ${offset} is outside the text (length ${text.length})`);
  let line = 0;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, character: offset - lineStart };
}

/** Applies didChange content changes in order, as the daemon does. */
export function applyContentChanges(text: string, changes: readonly TextDocumentContentChangeEvent[]): string {
  let result = text;
  for (const change of changes) {
    if (!('range' in change)) {
      result = change.text;
      continue;
    }
    const start = offsetAt(result, change.range.start);
    const end = offsetAt(result, change.range.end);
    if (end < start) throw new RangeError('change range ends before it starts');
    result = result.slice(0, start) + change.text + result.slice(end);
  }
  return result;
}

/** Applies non-overlapping edits that all refer to the same text. */
export function applyTextEdits(text: string, edits: readonly TextEdit[]): string {
  const located = edits
    .map((edit) => ({ start: offsetAt(text, edit.range.start), end: offsetAt(text, edit.range.end), newText: edit.newText }))
    .sort((a, b) => b.start - a.start || b.end - a.end);
  let result = text;
  for (const edit of located) result = result.slice(0, edit.start) + edit.newText + result.slice(edit.end);
  return result;
}

/** The single edit that turns `before` into `after` leaving their common
 * prefix and suffix alone; null when they are equal. Offsets never split a
 * surrogate pair, so the edit is valid in every position encoding. */
export function minimalEdit(before: string, after: string, origin: Position = { line: 0, character: 0 }): TextEdit | null {
  if (before === after) return null;
  let prefix = 0;
  const max = Math.min(before.length, after.length);
  while (prefix < max && before.charCodeAt(prefix) === after.charCodeAt(prefix)) prefix++;
  let suffix = 0;
  while (
    suffix < max - prefix &&
    before.charCodeAt(before.length - 1 - suffix) === after.charCodeAt(after.length - 1 - suffix)
  ) {
    suffix++;
  }
  // The prefix and suffix are common to both strings, so checking their
  // inner edge in one of them is enough to keep surrogate pairs whole.
  if (prefix > 0 && isHighSurrogate(before.charCodeAt(prefix - 1))) prefix--;
  if (suffix > 0 && isLowSurrogate(before.charCodeAt(before.length - suffix))) suffix--;
  const start = shift(origin, before.slice(0, prefix));
  const end = shift(origin, before.slice(0, before.length - suffix));
  return { range: { start, end }, newText: after.slice(prefix, after.length - suffix) };
}

/** The position reached from `origin` after `text`. */
export function shift(origin: Position, text: string): Position {
  const lastBreak = text.lastIndexOf('\n');
  if (lastBreak < 0) return { line: origin.line, character: origin.character + text.length };
  let breaks = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) breaks++;
  return { line: origin.line + breaks, character: text.length - lastBreak - 1 };
}

export function comparePositions(a: Position, b: Position): number {
  return a.line - b.line || a.character - b.character;
}

export function isEmptyRange(range: Range): boolean {
  return comparePositions(range.start, range.end) === 0;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
