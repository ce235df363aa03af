import { useCallback, useSyncExternalStore, type CompositionEvent, type FocusEvent, type KeyboardEvent } from 'react';
import { Editor, Range, Text, Transforms, type BaseRange, type NodeEntry } from 'slate';
import { ReactEditor } from 'slate-react';
import { handleNibKeyDown, isRewriteShortcut } from '../slate/keys';
import type { NibState } from '../slate/types';
import type { NibEditor } from '../slate/with-nib';

/** The plugin state, re-rendering on change. */
export function useNibState(editor: NibEditor): NibState {
  return useSyncExternalStore(editor.nib.subscribe, editor.nib.getState, editor.nib.getState);
}

/** Marks the decorated range being rewritten, for renderLeaf. */
export const rewriteTargetMark = 'nibRewriteTarget';

/**
 * Props to spread on <Editable>: the plugin's keys, IME composition
 * tracking, dismissing the ghost on blur, and the highlight of the text
 * under rewrite. Each handler returns without preventing default, so Slate
 * still handles composition itself.
 */
export function useNibEditable(editor: Editor & ReactEditor & NibEditor) {
  const state = useNibState(editor);
  const rewriting = state.rewrite !== null;
  const onKeyDown = useCallback((event: KeyboardEvent) => {
    const keys = {
      key: event.key,
      ctrlKey: event.ctrlKey,
      metaKey: event.metaKey,
      shiftKey: event.shiftKey,
      altKey: event.altKey,
      isComposing: event.nativeEvent.isComposing,
      preventDefault: () => event.preventDefault(),
    };
    if (isRewriteShortcut(keys)) syncSelectionFromDom(editor);
    handleNibKeyDown(editor, keys);
  }, [editor]);
  const onCompositionStart = useCallback((_event: CompositionEvent) => editor.nib.setComposing(true), [editor]);
  const onCompositionEnd = useCallback((_event: CompositionEvent) => editor.nib.setComposing(false), [editor]);
  const onBlur = useCallback((_event: FocusEvent) => void editor.nib.dismiss(), [editor]);
  // A new function when the rewrite starts or ends makes Slate redecorate.
  const decorate = useCallback(
    ([node, path]: NodeEntry): BaseRange[] => {
      const target = rewriting ? editor.nib.rewriteTarget() : null;
      if (!target || !Text.isText(node)) return [];
      const overlap = Range.intersection(target, Editor.range(editor, path));
      return overlap && Range.isExpanded(overlap) ? [{ ...overlap, [rewriteTargetMark]: true } as BaseRange] : [];
    },
    [editor, rewriting],
  );
  return { onKeyDown, onCompositionStart, onCompositionEnd, onBlur, decorate };
}

/**
 * Copies the browser's selection into Slate now. slate-react throttles its
 * selectionchange handling, so a shortcut pressed right after selecting
 * with Shift+arrows would otherwise see the old, collapsed selection.
 */
export function syncSelectionFromDom(editor: Editor & ReactEditor): void {
  const domSelection = typeof window === 'undefined' ? null : window.getSelection();
  if (!domSelection || domSelection.rangeCount === 0) return;
  const range = ReactEditor.toSlateRange(editor, domSelection, { exactMatch: false, suppressThrow: true });
  if (range && !(editor.selection && Range.equals(range, editor.selection))) Transforms.select(editor, range);
}
