import { useEffect, useRef, useState, type JSX, type KeyboardEvent } from 'react';
import type { Editor } from 'slate';
import { ReactEditor } from 'slate-react';
import { wordDiff } from '../slate/word-diff';
import type { RewriteState } from '../slate/types';
import type { NibEditor } from '../slate/with-nib';
import { useNibState } from './hooks';

/** Shows `before` → `after` as a word diff: deletions struck through,
 * insertions highlighted. */
export function DiffView({ before, after }: { before: string; after: string }): JSX.Element {
  return (
    <span className="nib-diff">
      {wordDiff(before, after).map((part, i) =>
        part.kind === 'same' ? (
          <span key={i}>{part.text}</span>
        ) : part.kind === 'del' ? (
          <del key={i} className="nib-diff-del">{part.text}</del>
        ) : (
          <ins key={i} className="nib-diff-add">{part.text}</ins>
        ),
      )}
    </span>
  );
}

/**
 * The rewrite panel: pick an instruction (or type one), watch the first
 * alternative stream in, then preview each alternative as a diff of the
 * selected text and accept one (click, or keys 1-9). Escape cancels.
 */
export function RewritePanel({ editor }: { editor: Editor & ReactEditor & NibEditor }): JSX.Element | null {
  const { rewrite } = useNibState(editor);
  const panel = useRef<HTMLDivElement>(null);
  const phase = rewrite?.phase;
  // Move focus into the panel when it opens and when the preview arrives,
  // so its keys work without a click.
  useEffect(() => {
    if (phase === 'choosing' || phase === 'preview') panel.current?.querySelector<HTMLElement>('[data-autofocus]')?.focus();
  }, [phase]);
  if (!rewrite) return null;

  const close = (accepted: boolean) => {
    if (!accepted) editor.nib.cancelRewrite();
    ReactEditor.focus(editor);
  };
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      close(false);
    } else if (rewrite.phase === 'preview' && /^[1-9]$/.test(event.key) && !(event.target instanceof HTMLInputElement)) {
      event.preventDefault();
      if (editor.nib.acceptRewrite(Number(event.key) - 1)) close(true);
    }
  };

  return (
    <div ref={panel} className="nib-rewrite" role="dialog" aria-label="Rewrite" data-testid="nib-rewrite" data-phase={rewrite.phase} onKeyDown={onKeyDown}>
      <div className="nib-rewrite-original" data-testid="nib-rewrite-original">{rewrite.original}</div>
      {rewrite.phase === 'choosing' || rewrite.phase === 'failed' ? <InstructionChooser editor={editor} /> : null}
      {rewrite.phase === 'running' ? <Running state={rewrite} /> : null}
      {rewrite.phase === 'preview' ? (
        <ol className="nib-alternatives">
          {rewrite.alternatives.map((alternative, i) => (
            <li key={i} data-testid="nib-alternative" data-text={alternative.text}>
              <DiffView before={rewrite.original} after={alternative.text} />
              <button
                type="button"
                data-testid={`nib-accept-${i}`}
                data-autofocus={i === 0 ? '' : undefined}
                onClick={() => editor.nib.acceptRewrite(i) && close(true)}
              >
                Accept{rewrite.alternatives.length > 1 ? ` ${i + 1}` : ''}
              </button>
            </li>
          ))}
        </ol>
      ) : null}
      {rewrite.phase === 'failed' ? <p className="nib-rewrite-error" role="alert">{rewrite.message}</p> : null}
      <button type="button" data-testid="nib-rewrite-cancel" onClick={() => close(false)}>
        Cancel
      </button>
    </div>
  );
}

function InstructionChooser({ editor }: { editor: NibEditor }): JSX.Element {
  const [custom, setCustom] = useState('');
  return (
    <div className="nib-instructions">
      {editor.nib.instructions.map((item, i) => (
        <button
          key={item.id}
          type="button"
          data-testid={`nib-instruction-${item.id}`}
          data-autofocus={i === 0 ? '' : undefined}
          onClick={() => void editor.nib.runRewrite(item.instruction)}
        >
          {item.title}
        </button>
      ))}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void editor.nib.runRewrite(custom);
        }}
      >
        <input
          data-testid="nib-instruction-input"
          aria-label="Instruction"
          placeholder="Or type an instruction…"
          value={custom}
          onChange={(event) => setCustom(event.target.value)}
        />
        <button type="submit" disabled={custom.trim() === ''}>
          Go
        </button>
      </form>
    </div>
  );
}

function Running({ state }: { state: Extract<RewriteState, { phase: 'running' }> }): JSX.Element {
  return (
    <div className="nib-rewrite-running" data-testid="nib-rewrite-running" aria-live="polite">
      <span>Rewriting ({state.instruction})…</span>
      <div className="nib-rewrite-stream" data-testid="nib-rewrite-stream">{state.partial[0] ?? ''}</div>
    </div>
  );
}
