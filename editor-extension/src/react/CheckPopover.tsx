import { useLayoutEffect, useRef, useState, type CSSProperties, type JSX, type ReactNode } from 'react';
import type { Editor, Text } from 'slate';
import { ReactEditor, useSlateStatic } from 'slate-react';
import { DiagnosticSeverity } from '../protocol';
import type { NibEditor } from '../slate/with-nib';
import { checkMark, useNibState, type CheckMarkValue } from './hooks';

/** How long the suggestion stays after the pointer leaves the word, so
 * that the pointer can travel to its buttons. */
const hideDelayMs = 300;

/** Wraps a leaf's content in the underline when checking flagged it:
 * `renderLeaf={({ attributes, children, leaf }) => <span {...attributes}><NibCheckMark leaf={leaf}>{children}</NibCheckMark></span>}`.
 * Hovering the word shows its suggestion; a click keeps it open. */
export function NibCheckMark({ leaf, children }: { leaf: Text; children: ReactNode }): JSX.Element {
  const mark = (leaf as unknown as Record<string, unknown>)[checkMark] as CheckMarkValue | undefined;
  return mark ? <FlaggedWords mark={mark}>{children}</FlaggedWords> : <>{children}</>;
}

function FlaggedWords({ mark, children }: { mark: CheckMarkValue; children: ReactNode }): JSX.Element {
  const editor = useSlateStatic() as Editor & NibEditor;
  return (
    <span
      className={mark.severity === DiagnosticSeverity.Hint ? 'nib-check nib-check-hint' : 'nib-check'}
      data-nib-check={mark.id}
      data-nib-old={mark.old}
      data-nib-new={mark.new}
      data-nib-insert={mark.insert ? '' : undefined}
      onMouseEnter={() => editor.nib.showCheck(mark.id)}
      onMouseLeave={() => editor.nib.hideCheck(hideDelayMs)}
      onClick={() => editor.nib.showCheck(mark.id, true)}
    >
      {children}
    </span>
  );
}

/**
 * The suggestion for the flag under the pointer (or clicked): "go → goes"
 * with Accept (one undo step), Ignore sentence and Ignore in document
 * (remembered by the daemon). Place it inside <Slate>, next to <Editable>;
 * it positions itself under the flagged words. Buttons keep the editor's
 * focus and selection.
 */
export function CheckPopover({ editor }: { editor: Editor & ReactEditor & NibEditor }): JSX.Element | null {
  const { checks, checkPopover } = useNibState(editor);
  const flag = checkPopover ? checks.find((f) => f.id === checkPopover.id) : undefined;
  const [position, setPosition] = useState<CSSProperties | null>(null);
  const popover = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    if (!flag) return;
    const root = ReactEditor.toDOMNode(editor, editor);
    const word = root.querySelector(`[data-nib-check="${CSS.escape(flag.id)}"]`);
    const rect = word?.getBoundingClientRect();
    setPosition(rect ? { position: 'fixed', left: rect.left, top: rect.bottom + 4, zIndex: 10 } : null);
  }, [editor, flag]);
  // A suggestion under a word near the right edge moves left to fit.
  useLayoutEffect(() => {
    const box = popover.current?.getBoundingClientRect();
    const overflow = box ? box.right - (document.documentElement.clientWidth - 8) : 0;
    if (box && overflow > 0.5 && typeof position?.left === 'number') setPosition({ ...position, left: Math.max(8, position.left - overflow) });
  }, [position]);
  if (!flag || !position) return null;

  const act = (action: () => unknown) => {
    action();
    ReactEditor.focus(editor);
  };
  const { old, new: replacement } = flag.data;
  return (
    <div
      ref={popover}
      className="nib-check-popover"
      role="dialog"
      aria-label={flag.message}
      data-testid="nib-check-popover"
      data-old={old}
      data-new={replacement}
      style={position}
      onMouseEnter={() => editor.nib.showCheck(flag.id)}
      onMouseLeave={() => editor.nib.hideCheck(hideDelayMs)}
    >
      <p className="nib-check-change">
        {old === '' ? null : <del data-testid="nib-check-old">{old}</del>}
        {old === '' || replacement === '' ? null : ' → '}
        {replacement === '' ? <span>remove</span> : <ins data-testid="nib-check-new">{replacement}</ins>}
      </p>
      <div className="nib-check-actions" onMouseDown={(event) => event.preventDefault()}>
        <button type="button" data-testid="nib-check-accept" onClick={() => act(() => editor.nib.acceptCheck(flag.id))}>
          Accept
        </button>
        <button type="button" data-testid="nib-check-ignore-sentence" onClick={() => act(() => void editor.nib.ignoreCheckSentence(flag.id))}>
          Ignore sentence
        </button>
        <button type="button" data-testid="nib-check-ignore-document" onClick={() => act(() => void editor.nib.ignoreCheckInDocument(flag.id))}>
          Ignore in document
        </button>
      </div>
    </div>
  );
}
