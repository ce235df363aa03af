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
 * The rewrite panel: pick an instruction (or type one), watch the
 * alternatives stream in (the first grows word by word, the others appear
 * whole once it is done), then preview each alternative as a diff of the
 * selected text. Choose one (click, or arrow keys) to refine it with a
 * follow-up instruction, as many times as wanted, or accept one (its
 * button, or keys 1-9). Escape cancels (during a refinement it goes back
 * to the preview being refined); picking another instruction while one
 * runs replaces it.
 */
export function RewritePanel({ editor }: { editor: Editor & ReactEditor & NibEditor }): JSX.Element | null {
  const { rewrite } = useNibState(editor);
  const panel = useRef<HTMLDivElement>(null);
  const phase = rewrite?.phase;
  // Move focus into the panel when it opens and when the preview arrives,
  // so its keys work without a click; while a refinement runs its form is
  // gone, so the panel itself keeps focus for Escape.
  useEffect(() => {
    const root = panel.current;
    if (phase === 'choosing' || phase === 'preview') root?.querySelector<HTMLElement>('[data-autofocus]')?.focus();
    else if (phase === 'running' && root && !root.contains(document.activeElement)) root.focus();
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
  const chooser = rewrite.phase === 'choosing' || rewrite.phase === 'failed' || (rewrite.phase === 'running' && rewrite.base === undefined);

  return (
    <div ref={panel} tabIndex={-1} className="nib-rewrite" role="dialog" aria-label="Rewrite" data-testid="nib-rewrite" data-phase={rewrite.phase} onKeyDown={onKeyDown}>
      <div className="nib-rewrite-original" data-testid="nib-rewrite-original">{rewrite.original}</div>
      {chooser ? <InstructionChooser editor={editor} /> : null}
      {rewrite.phase === 'running' ? <Running state={rewrite} /> : null}
      {rewrite.phase === 'preview' ? <Preview editor={editor} state={rewrite} onAccepted={() => close(true)} /> : null}
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
      <span>
        {state.base === undefined ? 'Rewriting' : 'Refining'} ({state.instruction})…
      </span>
      <RefinedFrom base={state.base} />
      <ol className="nib-alternatives nib-rewrite-stream" data-testid="nib-rewrite-stream">
        {Array.from(state.partial, (text = '', i) => (
          <li key={i} data-testid="nib-partial" data-index={i}>
            {text}
          </li>
        ))}
      </ol>
    </div>
  );
}

/** The alternatives as diffs of the original; the chosen one is what a
 * follow-up instruction refines. */
function Preview({
  editor,
  state,
  onAccepted,
}: {
  editor: NibEditor;
  state: Extract<RewriteState, { phase: 'preview' }>;
  onAccepted: () => void;
}): JSX.Element {
  const [chosen, setChosen] = useState(0);
  const [followUp, setFollowUp] = useState('');
  const count = state.alternatives.length;
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.target instanceof HTMLInputElement || (event.key !== 'ArrowDown' && event.key !== 'ArrowUp')) return;
    event.preventDefault();
    setChosen((i) => (i + (event.key === 'ArrowDown' ? 1 : count - 1)) % count);
  };
  return (
    <div onKeyDown={onKeyDown}>
      <RefinedFrom base={state.base} />
      <ol className="nib-alternatives">
        {state.alternatives.map((alternative, i) => (
          <li
            key={i}
            data-testid="nib-alternative"
            data-text={alternative.text}
            data-chosen={i === chosen}
            aria-current={i === chosen}
            className={i === chosen ? 'nib-alternative-chosen' : undefined}
            onClick={() => setChosen(i)}
          >
            <DiffView before={state.original} after={alternative.text} />
            <button
              type="button"
              data-testid={`nib-accept-${i}`}
              data-autofocus={i === 0 ? '' : undefined}
              onClick={() => editor.nib.acceptRewrite(i) && onAccepted()}
            >
              Accept{count > 1 ? ` ${i + 1}` : ''}
            </button>
          </li>
        ))}
      </ol>
      <form
        className="nib-refine"
        data-testid="nib-refine"
        onSubmit={(event) => {
          event.preventDefault();
          void editor.nib.refineRewrite(followUp, chosen);
        }}
      >
        <input
          data-testid="nib-refine-input"
          aria-label={count > 1 ? `Follow-up instruction for alternative ${chosen + 1}` : 'Follow-up instruction'}
          placeholder="Refine it: shorter, keep the first sentence…"
          value={followUp}
          onChange={(event) => setFollowUp(event.target.value)}
        />
        <button type="submit" data-testid="nib-refine-submit" disabled={followUp.trim() === ''}>
          Refine{count > 1 ? ` ${chosen + 1}` : ''}
        </button>
      </form>
    </div>
  );
}

/** In a refinement, the earlier alternative being rewritten again. */
function RefinedFrom({ base }: { base: string | undefined }): JSX.Element | null {
  if (base === undefined) return null;
  return (
    <div className="nib-rewrite-base">
      Refining <q data-testid="nib-rewrite-base">{base}</q>
    </div>
  );
}
