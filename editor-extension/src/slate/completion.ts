import { Editor, Point, Range, Transforms, type Path } from 'slate';
import { errorMessage } from './messages';
import { isCancelled } from '../client/errors';
import { documentLines, pointToPosition } from '../mapping/slate-text';
import { InlineCompletionTriggerKind, type InlineCompletionList, type Position } from '../protocol';
import type { NibContext } from './context';
import { insertPlainText } from './edits';
import { findGhosts, ghostAnchor, ghostSuggestion, insertGhost, removeGhosts } from './ghost';

type TriggerKind = (typeof InlineCompletionTriggerKind)[keyof typeof InlineCompletionTriggerKind];

interface Inflight {
  abort: AbortController;
  version: number;
  point: Point;
}

/** A letter, digit or underscore: the cursor is inside a word when one
 * follows it, and completing there would split the word. */
const wordCharacter = /[\p{L}\p{N}_]/u;

/**
 * CompletionController shows the daemon's inline completion as ghost text.
 * Typing schedules a request after a quiet time (debounce); any newer edit,
 * cursor move or request aborts the one in flight, which sends
 * $/cancelRequest. Typing the suggestion's next characters consumes it
 * without a new request (type-through).
 */
export class CompletionController {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inflight: Inflight | undefined;
  private composing = false;
  private paused = false;
  private textChanged = false;
  private typedThrough = false;

  constructor(private readonly ctx: NibContext) {}

  private get editor(): Editor {
    return this.ctx.editor;
  }

  /** The ghost showing, if any. */
  current(): { path: Path; suggestion: string } | undefined {
    const [entry] = findGhosts(this.editor);
    return entry ? { path: entry[1], suggestion: ghostSuggestion(entry[0]) } : undefined;
  }

  // ---- editor hooks --------------------------------------------------------

  /** From editor.apply: an operation changed the daemon's text. */
  noteTextChange(): void {
    if (!this.ctx.isInternal) this.textChanged = true;
  }

  /** From editor.onChange, after the flush: drop a ghost the cursor left,
   * abort a request the edit made stale, and schedule the next one. */
  afterChange(): void {
    const ghosts = findGhosts(this.editor);
    const first = ghosts[0];
    if (ghosts.length > 1 || (first && !this.isAnchored(first[1]))) {
      this.ctx.unrecorded(() => removeGhosts(this.editor));
      this.setGhost(null);
    } else {
      this.setGhost(first ? ghostSuggestion(first[0]) : null);
    }
    if (this.inflight && !this.stillAt(this.inflight)) this.cancel();
    const changed = this.textChanged;
    const typed = this.typedThrough;
    this.textChanged = false;
    this.typedThrough = false;
    if (changed && !typed) this.schedule();
  }

  /** editor.insertText: type-through when the text starts the suggestion,
   * else the ghost goes before the text is inserted. */
  insertText(text: string, options: { at?: unknown } | undefined, next: () => void): void {
    const ghost = this.current();
    if (!ghost || options?.at !== undefined || !this.isAnchored(ghost.path)) {
      next();
      return;
    }
    if (text === '' || !ghost.suggestion.startsWith(text)) {
      this.dismiss();
      next();
      return;
    }
    next();
    const rest = ghost.suggestion.slice(text.length);
    this.ctx.unrecorded(() => {
      const [entry] = findGhosts(this.editor);
      if (!entry) return;
      if (rest === '') removeGhosts(this.editor);
      else Transforms.setNodes(this.editor, { suggestion: rest } as never, { at: entry[1], voids: true });
    });
    this.typedThrough = true;
    this.setGhost(rest === '' ? null : rest);
  }

  // ---- commands ------------------------------------------------------------

  /** Asks for a completion now (an explicit trigger, no debounce). */
  trigger(): void {
    this.cancel();
    if (this.current()) return;
    void this.request(InlineCompletionTriggerKind.Invoked);
  }

  /** Accepts the whole suggestion, or its first `length` code units, as one
   * undo step; what is left stays as ghost text. */
  accept(length?: number): boolean {
    const ghost = this.current();
    const selection = this.editor.selection;
    if (!ghost || !selection || !this.isAnchored(ghost.path)) return false;
    const part = length === undefined ? ghost.suggestion : ghost.suggestion.slice(0, length);
    const rest = ghost.suggestion.slice(part.length);
    this.cancel();
    this.ctx.unrecorded(() => removeGhosts(this.editor));
    let end = selection.anchor;
    this.ctx.ownUndoStep(() => {
      const at = this.editor.selection?.anchor ?? selection.anchor;
      end = insertPlainText(this.editor, at, part);
      Transforms.select(this.editor, end);
    });
    if (rest !== '') this.ctx.unrecorded(() => insertGhost(this.editor, end, rest));
    this.setGhost(rest === '' ? null : rest);
    return true;
  }

  /** Accepts the suggestion's next word (with the spaces before it). */
  acceptWord(): boolean {
    const ghost = this.current();
    if (!ghost) return false;
    const word = /^\s*[^\s]+/u.exec(ghost.suggestion)?.[0] ?? ghost.suggestion;
    return this.accept(word.length);
  }

  /** Removes the ghost and stops any pending request. */
  dismiss(): boolean {
    this.cancel();
    if (!this.current()) return false;
    this.ctx.unrecorded(() => removeGhosts(this.editor));
    this.setGhost(null);
    return true;
  }

  /** IME composition: no request and no tree change while it lasts. */
  setComposing(composing: boolean): void {
    this.composing = composing;
    if (composing) this.cancel();
  }

  /** Stops suggestions while a rewrite is being chosen or previewed. */
  pause(paused: boolean): void {
    this.paused = paused;
    if (paused) this.dismiss();
  }

  /** Clears the debounce timer and aborts the request in flight. */
  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.inflight) {
      this.inflight.abort.abort();
      this.inflight = undefined;
      this.ctx.store.update({ completing: false });
    }
  }

  // ---- internals -----------------------------------------------------------

  private schedule(): void {
    this.cancel();
    if (!this.completionPoint()) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.request(InlineCompletionTriggerKind.Automatic);
    }, this.ctx.options.debounceMs);
  }

  private async request(triggerKind: TriggerKind): Promise<void> {
    this.cancel();
    const point = this.completionPoint();
    if (!point) return;
    this.ctx.sync.flush();
    const position = pointToPosition(this.editor, point, this.editor);
    const entry: Inflight = { abort: new AbortController(), version: this.ctx.sync.version, point };
    this.inflight = entry;
    this.ctx.store.update({ completing: true });
    try {
      const list = await this.ctx.client.inlineCompletion(
        { textDocument: { uri: this.ctx.sync.uri }, position, context: { triggerKind } },
        { signal: entry.abort.signal },
      );
      if (this.inflight !== entry || !this.stillAt(entry)) return;
      const suggestion = pickSuggestion(list, position, documentLines(this.editor, this.editor)[position.line] ?? '');
      if (suggestion === undefined) return;
      this.ctx.unrecorded(() => insertGhost(this.editor, point, suggestion));
      this.setGhost(suggestion);
    } catch (err) {
      if (this.inflight === entry && !isCancelled(err)) this.ctx.reportError(`nib: completion failed: ${errorMessage(err)}`);
    } finally {
      if (this.inflight === entry) {
        this.inflight = undefined;
        this.ctx.store.update({ completing: false });
      }
    }
  }

  /** The cursor, when a completion may be asked for there. */
  private completionPoint(): Point | undefined {
    const { selection } = this.editor;
    if (!this.ctx.sync.isOpen || this.composing || this.paused || this.ctx.store.getState().rewrite) return undefined;
    if (!selection || !Range.isCollapsed(selection) || this.current()) return undefined;
    let position: Position;
    try {
      position = pointToPosition(this.editor, selection.anchor, this.editor);
    } catch {
      return undefined;
    }
    const line = documentLines(this.editor, this.editor)[position.line] ?? '';
    const next = line.charAt(position.character);
    if (next !== '' && wordCharacter.test(next)) return undefined;
    return selection.anchor;
  }

  /** Whether a response still fits: same version, nothing unsent, the
   * cursor where it was, and nothing else going on. */
  private stillAt(entry: Inflight): boolean {
    const { selection } = this.editor;
    return (
      this.ctx.sync.version === entry.version &&
      !this.ctx.sync.hasPending &&
      !this.composing &&
      !this.paused &&
      selection !== null &&
      Range.isCollapsed(selection) &&
      Point.equals(selection.anchor, entry.point) &&
      this.current() === undefined
    );
  }

  private isAnchored(ghostPath: Path): boolean {
    const { selection } = this.editor;
    const anchor = ghostAnchor(this.editor, ghostPath);
    return !!selection && !!anchor && Range.isCollapsed(selection) && Point.equals(selection.anchor, anchor);
  }

  private setGhost(ghost: string | null): void {
    if (this.ctx.store.getState().ghost !== ghost) this.ctx.store.update({ ghost });
  }
}

/** The text to show for a completion list at `position`: the first item
 * with visible text. An item whose range starts before the cursor repeats
 * text already typed; that part is dropped if it matches. */
export function pickSuggestion(list: InlineCompletionList | null, position: Position, lineText: string): string | undefined {
  for (const item of list?.items ?? []) {
    let text = item.insertText;
    const range = item.range;
    if (range) {
      if (range.end.line !== position.line || range.end.character !== position.character || range.start.line !== position.line) continue;
      const typed = lineText.slice(range.start.character, position.character);
      if (!text.startsWith(typed)) continue;
      text = text.slice(typed.length);
    }
    if (text.trim() !== '') return text;
  }
  return undefined;
}
