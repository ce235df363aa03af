// Daemon edits applied as Slate operations (never by replacing the value),
// so that history records them, undo restores the original, and the marks
// of text the edit leaves alone survive.
import { Editor, Element, Point, Transforms } from 'slate';
import { comparePositions } from '../mapping/plain-text';
import { isLineBlock, positionToPoint } from '../mapping/slate-text';
import type { TextEdit } from '../protocol';

/** Applies edits that all refer to the current text, last first, so that
 * each edit's positions are still valid when its turn comes. */
export function applyTextEdits(editor: Editor, edits: readonly TextEdit[]): void {
  const ordered = [...edits].sort((a, b) => comparePositions(b.range.start, a.range.start));
  Editor.withoutNormalizing(editor, () => {
    for (const edit of ordered) applyTextEdit(editor, edit);
  });
}

function applyTextEdit(editor: Editor, edit: TextEdit): void {
  // Replacement text takes the marks of the text it replaces; a pure
  // insertion takes those of the text before it, as typing would.
  const replacing = comparePositions(edit.range.start, edit.range.end) !== 0;
  const start = positionToPoint(editor, edit.range.start, editor, replacing ? 'forward' : 'backward');
  const end = positionToPoint(editor, edit.range.end, editor);
  const at = Editor.pointRef(editor, start);
  if (!Point.equals(start, end)) Transforms.delete(editor, { at: { anchor: start, focus: end } });
  const point = at.unref();
  if (point && edit.newText !== '') insertPlainText(editor, point, edit.newText);
}

/** Inserts text that may hold line breaks ("\n", "\r\n" or "\r", as in
 * LSP): each splits the line block, as pressing Enter would. Returns the
 * point after the inserted text. */
export function insertPlainText(editor: Editor, at: Point, text: string): Point {
  const lines = text.split(/\r\n|\r|\n/);
  const cursor = Editor.pointRef(editor, at, { affinity: 'forward' });
  lines.forEach((line, i) => {
    if (i > 0 && cursor.current) {
      Transforms.splitNodes(editor, {
        at: cursor.current,
        always: true,
        match: (n) => Element.isElement(n) && isLineBlock(n, editor),
      });
    }
    if (line !== '' && cursor.current) Transforms.insertText(editor, line, { at: cursor.current });
  });
  const end = cursor.unref();
  if (!end) throw new Error('nib: lost the insertion point');
  return end;
}
