import { Editor, Range, Transforms, type RangeRef } from 'slate';
import { errorCode, isCancelled } from '../client/errors';
import { applyTextEdits as applyEditsToText, minimalEdit, offsetAt, shift } from '../mapping/plain-text';
import { documentText, pointToPosition, positionToPoint } from '../mapping/slate-text';
import { applyPartial, ErrorCode, type NibPartialResult, type Range as LspRange, type TextEdit } from '../protocol';
import type { CompletionController } from './completion';
import type { NibContext } from './context';
import { applyTextEdits } from './edits';
import { errorMessage } from './messages';
import type { RewriteAlternative, RewriteState } from './types';

/**
 * RewriteController runs a rewrite of the selection: choose an instruction,
 * watch the alternatives stream in, preview them, refine one with follow-up
 * instructions as often as wanted, accept one. Accepting
 * applies the alternative's minimal edits as Slate operations in one undo
 * step, so undo gives the original back with its marks.
 */
export class RewriteController {
  private abort: AbortController | undefined;
  private target: RangeRef | undefined;
  /** The preview a refinement in flight started from: Escape goes back to
   * it rather than throwing the earlier work away. */
  private previous: Extract<RewriteState, { phase: 'preview' }> | undefined;

  constructor(
    private readonly ctx: NibContext,
    private readonly completion: CompletionController,
  ) {}

  private get editor(): Editor {
    return this.ctx.editor;
  }

  private get state(): RewriteState | null {
    return this.ctx.store.getState().rewrite;
  }

  /** The Slate range being rewritten (it follows edits), for highlighting. */
  targetRange(): Range | null {
    return this.state ? (this.target?.current ?? null) : null;
  }

  /** Opens the instruction choice for the selection; false without one. */
  start(): boolean {
    const { selection } = this.editor;
    if (!this.ctx.sync.isOpen || !selection || Range.isCollapsed(selection)) return false;
    this.cancelRequest();
    this.completion.pause(true);
    this.target?.unref();
    this.target = Editor.rangeRef(this.editor, Editor.unhangRange(this.editor, selection), { affinity: 'inward' });
    const located = this.locate();
    if (!located) {
      this.finish();
      return false;
    }
    this.ctx.store.update({ rewrite: { phase: 'choosing', ...located } });
    return true;
  }

  /** Asks the daemon for alternatives to the range's text under
   * `instruction`. A request still running is cancelled first, so picking
   * another instruction mid-stream replaces it. */
  run(instruction: string): Promise<void> {
    return this.request(instruction, undefined);
  }

  /** Rewrites alternative `index` of the preview again under a follow-up
   * instruction ("shorter"). The new alternatives preview like a first
   * run's, and their edits still turn the document's text (untouched so far)
   * into each of them, so any number of refinements ends in one edit. */
  refine(instruction: string, index: number): Promise<void> {
    const state = this.state;
    const base = state?.phase === 'preview' ? state.alternatives[index]?.text : undefined;
    if (base === undefined) return Promise.resolve();
    return this.request(instruction, base);
  }

  private async request(instruction: string, base: string | undefined): Promise<void> {
    if (!this.state || instruction.trim() === '') return;
    this.cancelRequest();
    this.ctx.sync.flush();
    const located = this.locate();
    if (!located) {
      this.finish();
      return;
    }
    const version = this.ctx.sync.version;
    const abort = new AbortController();
    this.abort = abort;
    const state = this.state;
    this.previous = base !== undefined && state?.phase === 'preview' ? state : undefined;
    const refinement = base === undefined ? {} : { base };
    // Alternative 0 grows token by token; the others arrive whole, later.
    const partial: string[] = [];
    this.ctx.store.update({ rewrite: { phase: 'running', ...located, instruction, ...refinement, partial: [] } });
    const onPartial = (value: NibPartialResult) => {
      if (this.abort !== abort) return;
      partial[value.index] = applyPartial(partial[value.index] ?? '', value);
      this.ctx.store.update({ rewrite: { phase: 'running', ...located, instruction, ...refinement, partial: [...partial] } });
    };
    try {
      const result = await this.ctx.client.rewrite(
        {
          textDocument: { uri: this.ctx.sync.uri, version },
          range: located.range,
          instruction,
          n: this.ctx.options.alternatives,
          ...(base === undefined ? {} : { text: base }),
        },
        { signal: abort.signal, onPartial },
      );
      if (this.abort !== abort) return;
      this.abort = undefined;
      this.previous = undefined;
      const alternatives: RewriteAlternative[] = result.items.map((item) => ({ text: item.text, edits: item.edits ?? [] }));
      if (alternatives.length === 0) {
        this.ctx.store.update({ rewrite: { phase: 'failed', ...located, instruction, message: 'The model offered no alternative.' } });
        return;
      }
      this.ctx.store.update({ rewrite: { phase: 'preview', ...located, instruction, ...refinement, version, alternatives } });
    } catch (err) {
      if (this.abort !== abort || isCancelled(err)) return;
      this.abort = undefined;
      const message =
        errorCode(err) === ErrorCode.ContentModified
          ? 'The document changed during the rewrite; run it again.'
          : `nib: rewrite failed: ${errorMessage(err)}`;
      this.ctx.store.update({ rewrite: { phase: 'failed', ...located, instruction, message } });
    }
  }

  /** Applies alternative `index` of the preview. */
  accept(index: number): boolean {
    const state = this.state;
    if (state?.phase !== 'preview') return false;
    const alternative = state.alternatives[index];
    if (!alternative) return false;
    this.ctx.sync.flush();
    if (this.ctx.sync.version !== state.version) {
      this.ctx.store.update({ rewrite: { ...state, phase: 'failed', message: 'The document changed since the preview; run the rewrite again.' } });
      return false;
    }
    const edits = this.checkedEdits(state.range, state.original, alternative);
    this.ctx.ownUndoStep(() => applyTextEdits(this.editor, edits));
    const end = shift(state.range.start, alternative.text);
    Transforms.select(this.editor, positionToPoint(this.editor, end, this.editor));
    this.finish();
    return true;
  }

  /** Closes the rewrite without changing the document; while a refinement
   * runs, goes back to the preview it started from instead (if the
   * document has not changed since). */
  cancel(): void {
    const state = this.state;
    if (!state) return;
    const previous = this.previous;
    this.cancelRequest();
    this.ctx.sync.flush();
    if (state.phase === 'running' && previous && previous.version === this.ctx.sync.version) {
      this.ctx.store.update({ rewrite: previous });
      return;
    }
    this.finish();
  }

  /** The daemon's edits if they turn the range into the alternative's text,
   * else one minimal edit computed here (and a reported error): a wrong
   * edit must never reach the document. */
  private checkedEdits(range: LspRange, original: string, alternative: RewriteAlternative): TextEdit[] {
    const text = documentText(this.editor, this.editor);
    const start = offsetAt(text, range.start);
    const end = offsetAt(text, range.end);
    const expected = text.slice(0, start) + alternative.text + text.slice(end);
    let matches = false;
    try {
      matches = alternative.edits.length > 0 && applyEditsToText(text, alternative.edits) === expected;
    } catch {
      matches = false;
    }
    if (matches) return alternative.edits;
    if (alternative.edits.length > 0) this.ctx.reportError("nib: the daemon's rewrite edits do not give its text; applied the text instead");
    const edit = minimalEdit(original, alternative.text, range.start);
    return edit ? [edit] : [];
  }

  /** The range's daemon coordinates and text, from the tracked Slate range. */
  private locate(): { original: string; range: LspRange } | undefined {
    const current = this.target?.current;
    if (!current) return undefined;
    const [startPoint, endPoint] = Range.edges(current);
    const range = { start: pointToPosition(this.editor, startPoint, this.editor), end: pointToPosition(this.editor, endPoint, this.editor) };
    const text = documentText(this.editor, this.editor);
    const original = text.slice(offsetAt(text, range.start), offsetAt(text, range.end));
    return { original, range };
  }

  private cancelRequest(): void {
    this.abort?.abort();
    this.abort = undefined;
    this.previous = undefined;
  }

  private finish(): void {
    this.target?.unref();
    this.target = undefined;
    this.ctx.store.update({ rewrite: null });
    this.completion.pause(false);
  }
}
