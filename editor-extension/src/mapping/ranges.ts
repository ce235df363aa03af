// Ranges of an older version of the daemon's text carried through the
// didChange events sent since, so that what the daemon said about that
// version (checking's diagnostics) lands on the same text now.
import type { Position, Range, TextDocumentContentChangeEvent } from '../protocol';
import { comparePositions, shift } from './plain-text';

/**
 * Where `range` lies after `change`, or null when the change edits the
 * range's text. A change elsewhere moves it; one inside it, or one that
 * glues text onto either end of a word (typing at its edge, deleting the
 * space before it), edits it. Inserted text that leaves white space
 * between it and the range (a space or line break typed before a word)
 * does not. An empty range (where an insertion goes) is edited by any
 * change at it. A whole-text change edits every range.
 */
export function mapRange(range: Range, change: TextDocumentContentChangeEvent): Range | null {
  if (!('range' in change)) return null;
  const { start: cs, end: ce } = change.range;
  const text = change.text;
  if (text === '' && comparePositions(cs, ce) === 0) return range;
  const empty = comparePositions(range.start, range.end) === 0;
  if (comparePositions(ce, range.start) < 0) return moved(range, cs, ce, text);
  if (comparePositions(cs, range.end) > 0) return range;
  if (empty) return null;
  if (comparePositions(ce, range.start) === 0 && /\s$/u.test(text)) return moved(range, cs, ce, text);
  if (comparePositions(cs, range.end) === 0 && /^\s/u.test(text)) return range;
  return null;
}

/** mapRange through a sequence of changes, as didChange applies them. */
export function mapRangeThrough(range: Range, changes: readonly TextDocumentContentChangeEvent[]): Range | null {
  let current: Range | null = range;
  for (const change of changes) {
    if (!current) return null;
    current = mapRange(current, change);
  }
  return current;
}

function moved(range: Range, cs: Position, ce: Position, text: string): Range {
  return { start: movedPosition(range.start, cs, ce, text), end: movedPosition(range.end, cs, ce, text) };
}

/** A position at or after the change's end, after the change. */
function movedPosition(p: Position, cs: Position, ce: Position, text: string): Position {
  const end = shift(cs, text);
  if (p.line === ce.line) return { line: end.line, character: end.character + (p.character - ce.character) };
  return { line: p.line + (end.line - ce.line), character: p.character };
}
