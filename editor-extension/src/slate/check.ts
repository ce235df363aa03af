import { Transforms, type Range } from 'slate';
import { comparePositions, offsetAt, positionAt, shift } from '../mapping/plain-text';
import { mapRangeThrough } from '../mapping/ranges';
import { documentText, positionToPoint } from '../mapping/slate-text';
import {
  DiagnosticSeverity,
  isNibCheckDiagnostic,
  type NibCheckData,
  type NibCheckDiagnostic,
  type PublishDiagnosticsParams,
  type Range as LspRange,
  type TextDocumentContentChangeEvent,
} from '../protocol';
import type { CompletionController } from './completion';
import type { NibContext } from './context';
import { applyTextEdits } from './edits';
import { errorMessage } from './messages';
import type { CheckFlag } from './types';

/** How many didChange events back a late result can still be mapped from;
 * an older one is dropped rather than guessed at. */
const historyLimit = 256;

/** A flag and the Slate range it underlines now. */
export interface ShownCheck {
  flag: CheckFlag;
  range: Range;
}

/**
 * CheckController shows the daemon's checking results (pushed as
 * textDocument/publishDiagnostics) as flags on the text. Flags are kept in
 * the daemon's coordinates and carried through every didChange the plugin
 * sends, so they stay on their words while the writer edits until the next
 * result arrives, and a flag whose words were edited goes away. A result
 * for an older version than the editor's is carried through the changes
 * sent since; one too old to map is dropped. Flags are never document
 * content: the React side draws them as decorations.
 */
export class CheckController {
  /** The didChange events sent since the last result, oldest first. */
  private history: { version: number; changes: readonly TextDocumentContentChangeEvent[] }[] = [];
  private unsubscribe: (() => void) | undefined;
  private nextId = 0;
  /** Ignores sent and not yet answered: results published before the
   * daemon saw them must not bring their flags back. */
  private readonly pendingIgnores = new Set<(data: NibCheckData) => boolean>();
  private hideTimer: ReturnType<typeof setTimeout> | undefined;
  /** Slate ranges of the flags, for the tree and flags they were made from. */
  private shownCache: { children: unknown; checks: CheckFlag[]; shown: ShownCheck[] } | undefined;

  constructor(
    private readonly ctx: NibContext,
    private readonly completion: CompletionController,
  ) {
    ctx.sync.onFlush((version, changes) => this.noteFlush(version, changes));
  }

  private get flags(): CheckFlag[] {
    return this.ctx.store.getState().checks;
  }

  /** Starts taking results from the current client for the open document. */
  attach(): void {
    this.detach();
    this.history = [];
    const subscription = this.ctx.client.onDiagnostics?.((params) => this.receive(params));
    this.unsubscribe = subscription ? () => subscription.dispose() : undefined;
  }

  /** Stops taking results and removes every flag. */
  detach(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.pendingIgnores.clear();
    this.cancelHide();
    if (this.flags.length > 0 || this.ctx.store.getState().checkPopover) this.ctx.store.update({ checks: [], checkPopover: null });
  }

  /** The flags with the Slate ranges they underline, for decorate. */
  shown(): ShownCheck[] {
    const { editor } = this.ctx;
    const checks = this.flags;
    const cached = this.shownCache;
    if (cached && cached.children === editor.children && cached.checks === checks) return cached.shown;
    const shown: ShownCheck[] = [];
    for (const flag of checks) {
      try {
        const anchor = positionToPoint(editor, flag.shown.start, editor, 'forward');
        const focus = positionToPoint(editor, flag.shown.end, editor);
        shown.push({ flag, range: { anchor, focus } });
      } catch {
        // A flag off the tree cannot be drawn; the next result replaces it.
      }
    }
    this.shownCache = { children: editor.children, checks, shown };
    return shown;
  }

  /** Applies flag `id`'s correction as one undo step, after checking that
   * its words are still what was flagged; the caret goes after it. */
  accept(id: string): boolean {
    this.ctx.sync.flush();
    const flag = this.flags.find((f) => f.id === id);
    if (!flag) return false;
    const { editor } = this.ctx;
    if (textIn(documentText(editor, editor), flag.range) !== flag.text) {
      this.remove((f) => f.id === id);
      this.ctx.reportError('nib: the flagged words changed; the correction was not applied');
      return false;
    }
    this.completion.dismiss();
    this.ctx.ownUndoStep(() => applyTextEdits(editor, [{ range: flag.range, newText: flag.data.new }]));
    Transforms.select(editor, positionToPoint(editor, shift(flag.range.start, flag.data.new), editor));
    this.ctx.store.update({ checkPopover: null });
    return true;
  }

  /** Asks the daemon never to flag flag `id`'s sentence again. */
  ignoreSentence(id: string): Promise<void> {
    const flag = this.flags.find((f) => f.id === id);
    const client = this.ctx.client;
    if (!flag || !client.ignoreSentence) return Promise.resolve();
    const { sentence } = flag.data;
    return this.ignore((data) => data.sentence === sentence, () => client.ignoreSentence!(sentence));
  }

  /** Asks the daemon never to propose flag `id`'s change in this document. */
  ignoreInDocument(id: string): Promise<void> {
    const flag = this.flags.find((f) => f.id === id);
    const client = this.ctx.client;
    if (!flag || !client.ignoreInDocument) return Promise.resolve();
    const { old, new: replacement } = flag.data;
    return this.ignore(
      (data) => data.old === old && data.new === replacement,
      () => client.ignoreInDocument!(this.ctx.sync.uri, old, replacement),
    );
  }

  /** Shows flag `id`'s suggestion; pinned (a click) it stays until closed. */
  showPopover(id: string, pinned: boolean): void {
    this.cancelHide();
    const current = this.ctx.store.getState().checkPopover;
    if (current?.id === id && (current.pinned || !pinned)) return;
    if (this.flags.some((f) => f.id === id)) this.ctx.store.update({ checkPopover: { id, pinned } });
  }

  /** Hides the suggestion; with a delay (the pointer left the word) only an
   * unpinned one, and only unless the pointer comes back meanwhile. */
  hidePopover(delayMs = 0): void {
    this.cancelHide();
    const current = this.ctx.store.getState().checkPopover;
    if (!current) return;
    if (delayMs <= 0) {
      this.ctx.store.update({ checkPopover: null });
      return;
    }
    if (current.pinned) return;
    this.hideTimer = setTimeout(() => {
      this.hideTimer = undefined;
      if (this.ctx.store.getState().checkPopover === current) this.ctx.store.update({ checkPopover: null });
    }, delayMs);
  }

  private cancelHide(): void {
    if (this.hideTimer !== undefined) clearTimeout(this.hideTimer);
    this.hideTimer = undefined;
  }

  private async ignore(matches: (data: NibCheckData) => boolean, send: () => Promise<void>): Promise<void> {
    this.pendingIgnores.add(matches);
    this.remove((f) => matches(f.data));
    try {
      await send();
    } catch (err) {
      this.ctx.reportError(`nib: ignoring failed: ${errorMessage(err)}`);
    } finally {
      this.pendingIgnores.delete(matches);
    }
  }

  private remove(drop: (flag: CheckFlag) => boolean): void {
    const checks = this.flags.filter((f) => !drop(f));
    const popover = this.ctx.store.getState().checkPopover;
    this.ctx.store.update({ checks, checkPopover: popover && checks.some((f) => f.id === popover.id) ? popover : null });
  }

  private receive(params: PublishDiagnosticsParams): void {
    const { sync } = this.ctx;
    if (params.uri !== sync.uri || !sync.isOpen) return;
    // Edits not yet sent would not be in the history the result is
    // mapped through.
    sync.flush();
    const version = params.version;
    // Without a version, or for a version this editor never sent (an
    // earlier connection's), the ranges cannot be placed safely.
    if (typeof version !== 'number' || version > sync.version) return;
    const since = this.history.filter((entry) => entry.version > version);
    if (version < sync.version && since[0]?.version !== version + 1) return;
    // Results arrive in version order, so nothing older is needed again.
    this.history = since;
    const text = sync.daemonText;
    const checks: CheckFlag[] = [];
    for (const diagnostic of params.diagnostics) {
      if (!isNibCheckDiagnostic(diagnostic) || this.ignoring(diagnostic.data)) continue;
      let range: LspRange | null = diagnostic.range;
      for (const entry of since) range = range && mapRangeThrough(range, entry.changes);
      const flagged = range ? textIn(text, range) : undefined;
      if (!range || flagged === undefined) continue;
      const shown = shownRange(text, range);
      if (shown) checks.push(this.flag(diagnostic, range, shown, flagged));
    }
    checks.sort((a, b) => comparePositions(a.range.start, b.range.start));
    const popover = this.ctx.store.getState().checkPopover;
    this.ctx.store.update({ checks, checkPopover: popover && checks.some((f) => f.id === popover.id) ? popover : null });
  }

  private ignoring(data: NibCheckData): boolean {
    for (const matches of this.pendingIgnores) if (matches(data)) return true;
    return false;
  }

  /** A flag for `diagnostic`, keeping the id of the same flag shown before
   * so that a suggestion open on it stays open. */
  private flag(diagnostic: NibCheckDiagnostic, range: LspRange, shown: LspRange, text: string): CheckFlag {
    const same = this.flags.find(
      (f) => sameRange(f.range, range) && f.data.old === diagnostic.data.old && f.data.new === diagnostic.data.new,
    );
    return {
      id: same?.id ?? `nib-check-${++this.nextId}`,
      range,
      shown,
      text,
      severity: diagnostic.severity ?? DiagnosticSeverity.Information,
      message: diagnostic.message,
      data: diagnostic.data,
    };
  }

  /** Carries the flags through a didChange just sent. */
  private noteFlush(version: number, changes: readonly TextDocumentContentChangeEvent[]): void {
    this.history.push({ version, changes });
    if (this.history.length > historyLimit) this.history.splice(0, this.history.length - historyLimit);
    const state = this.ctx.store.getState();
    if (state.checks.length === 0 && !state.checkPopover) return;
    const text = this.ctx.sync.daemonText;
    const checks: CheckFlag[] = [];
    for (const flag of state.checks) {
      const range = mapRangeThrough(flag.range, changes);
      // The text check guards the mapping itself: a flag is dropped
      // rather than ever drawn on other words.
      if (!range || textIn(text, range) !== flag.text) continue;
      const shown = shownRange(text, range);
      if (shown) checks.push({ ...flag, range, shown });
    }
    // An edit closes the suggestion: it was about the text before.
    this.cancelHide();
    this.ctx.store.update({ checks, checkPopover: null });
  }
}

/** The text of `range`, or undefined when it does not fit `text`. */
function textIn(text: string, range: LspRange): string | undefined {
  try {
    const start = offsetAt(text, range.start);
    const end = offsetAt(text, range.end);
    return end < start ? undefined : text.slice(start, end);
  } catch {
    return undefined;
  }
}

function sameRange(a: LspRange, b: LspRange): boolean {
  return comparePositions(a.start, b.start) === 0 && comparePositions(a.end, b.end) === 0;
}

/** What to underline for `range`: itself, or for an empty one (words to
 * insert) the word it sits before, else the one it follows; undefined on
 * a line with no word to hold it. */
function shownRange(text: string, range: LspRange): LspRange | undefined {
  if (comparePositions(range.start, range.end) !== 0) return range;
  const at = offsetAt(text, range.start);
  const lineStart = text.lastIndexOf('\n', at - 1) + 1;
  const nextBreak = text.indexOf('\n', at);
  const lineEnd = nextBreak < 0 ? text.length : nextBreak;
  const after = /^\S+/u.exec(text.slice(at, lineEnd));
  if (after) return { start: range.start, end: positionAt(text, at + after[0].length) };
  const before = /\S+(?=\s*$)/u.exec(text.slice(lineStart, at));
  if (before) return { start: positionAt(text, lineStart + before.index), end: positionAt(text, lineStart + before.index + before[0].length) };
  return undefined;
}
