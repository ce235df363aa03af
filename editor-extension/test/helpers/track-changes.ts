// Records the didChange events that Slate operations translate to, the
// way withNib does, so tests can replay them on a plain string.
import type { Editor, Operation } from 'slate';
import { changesForOperation, diffChanges } from '../../src/mapping/operations';
import { documentText } from '../../src/mapping/slate-text';
import type { TextDocumentContentChangeEvent } from '../../src/protocol';

export interface Tracker {
  changes: TextDocumentContentChangeEvent[];
  /** Operations that needed the whole-text diff fallback. */
  fallbacks: Operation['type'][];
  take(): TextDocumentContentChangeEvent[];
}

export function trackChanges(editor: Editor): Tracker {
  const tracker: Tracker = {
    changes: [],
    fallbacks: [],
    take() {
      const taken = tracker.changes;
      tracker.changes = [];
      return taken;
    },
  };
  const { apply } = editor;
  editor.apply = (op) => {
    const before = editor.children;
    const changes = changesForOperation(editor, op, editor);
    apply(op);
    if (changes) {
      tracker.changes.push(...changes);
    } else {
      tracker.fallbacks.push(op.type);
      tracker.changes.push(...diffChanges(documentText({ children: before }, editor), documentText(editor, editor)));
    }
  };
  return tracker;
}
