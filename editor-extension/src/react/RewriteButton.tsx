import type { JSX } from 'react';
import { Range, type Editor } from 'slate';
import { useSlateSelection, type ReactEditor } from 'slate-react';
import type { NibEditor } from '../slate/with-nib';
import { syncSelectionFromDom, useNibState } from './hooks';

/** The toolbar's rewrite command; enabled while text is selected. The
 * mouse-down is prevented so the editor keeps its selection. */
export function RewriteButton({ editor, label = 'Rewrite' }: { editor: Editor & ReactEditor & NibEditor; label?: string }): JSX.Element {
  const selection = useSlateSelection();
  const state = useNibState(editor);
  const disabled = !state.open || !selection || Range.isCollapsed(selection);
  return (
    <button
      type="button"
      data-testid="nib-rewrite-button"
      title="Rewrite the selection (Ctrl/Cmd+Shift+E)"
      disabled={disabled}
      onMouseDown={(event) => event.preventDefault()}
      onClick={() => {
        syncSelectionFromDom(editor);
        editor.nib.startRewrite();
      }}
    >
      {label}
    </button>
  );
}
