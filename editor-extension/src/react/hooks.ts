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

/** Marks text flagged by checking, for renderLeaf (see NibCheckMark). */
export const checkMark = 'nibCheck';

/** What a flagged leaf carries under checkMark. */
export interface CheckMarkValue {
  id: string;
  old: string;
  new: string;
  /** The correction inserts words before (or after) the underlined one. */
  insert: boolean;
  severity: number;
}

/**
 * Props to spread on <Editable>: the plugin's keys, IME composition
 * tracking, dismissing the ghost on blur, and the decorations: the text
 * under rewrite, and the words checking flagged (decorations, so neither
 * the document nor its history ever holds them). Each handler returns without preventing default, so Slate
 * still handles composition itself.
 */
export function useNibEditable(editor: Editor & ReactEditor & NibEditor) {
  const state = useNibState(editor);
  const rewriting = state.rewrite !== null;
  const checks = state.checks;
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
  // A new function when the rewrite starts or ends, or the flags change,
  // makes Slate redecorate.
  const decorate = useCallback(
    ([node, path]: NodeEntry): BaseRange[] => {
      if (!Text.isText(node)) return [];
      const leaf = Editor.range(editor, path);
      const ranges: BaseRange[] = [];
      for (const { flag, range } of checks.length > 0 ? editor.nib.checks() : []) {
        const overlap = Range.intersection(range, leaf);
        if (!overlap || Range.isCollapsed(overlap)) continue;
        const mark: CheckMarkValue = { id: flag.id, old: flag.data.old, new: flag.data.new, insert: flag.text === '', severity: flag.severity };
        ranges.push({ ...overlap, [checkMark]: mark } as BaseRange);
      }
      const target = rewriting ? editor.nib.rewriteTarget() : null;
      const overlap = target && Range.intersection(target, leaf);
      if (overlap && Range.isExpanded(overlap)) ranges.push({ ...overlap, [rewriteTargetMark]: true } as BaseRange);
      return ranges;
    },
    [editor, rewriting, checks],
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
