import { Editor, Point, Range, Transforms, type Path } from 'slate';
import { errorMessage } from './messages';
import { isCancelled } from '../client/errors';
import { documentLines, pointToPosition } from '../mapping/slate-text';
import { applyPartial, type NibCompleteResult, type NibPartialResult, type Position } from '../protocol';
import type { NibContext } from './context';
import { insertPlainText } from './edits';
import { findGhosts, ghostAnchor, ghostSuggestion, insertGhost, removeGhosts, setGhostSuggestion } from './ghost';

/** A completion request and the suggestion it has streamed so far. */
interface Inflight {
  abort: AbortController;
  /** The daemon's version and the cursor the suggestion goes on from; both
   * move along as the user types through the ghost while it streams. */
  version: number;
  point: Point;
  /** The suggestion as streamed so far, from where it was asked. */
  text: string;
  /** What of it the user has typed through or accepted word by word. */
  taken: string;
  /** The daemon has answered: `text` is final. */
  done: boolean;
}

/** A letter, digit or underscore: the cursor is inside a word when one
 * follows it, and completing there would split the word. */
const wordCharacter = /[\p{L}\p{N}_]/u;

/**
 * CompletionController shows the daemon's completion as ghost text, word
 * by word as nib/complete streams it. Typing schedules a request after a
 * quiet time (debounce); any newer edit, cursor move or request aborts the
 * one in flight, which sends $/cancelRequest, and takes its ghost away.
 * Typing the suggestion's next characters consumes it without a new
 * request (type-through), while it streams too.
 */
export class CompletionController {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inflight: Inflight | undefined;
  private composing = false;
  private paused = false;
  private textChanged = false;
  /** Since the last onChange the cursor moved through the ghost, by typing
   * its text or accepting a word of it: no new request, and a stream in
   * flight goes on from the new cursor. */
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
    const changed = this.textChanged;
    const typed = this.typedThrough;
    this.textChanged = false;
    this.typedThrough = false;
    const entry = this.inflight;
    if (entry && typed) this.followCursor(entry);
    else if (entry && !this.stillAt(entry)) this.cancel();
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
    this.showSuggestion(ghost.suggestion.slice(text.length));
    if (this.inflight) this.inflight.taken += text;
    this.typedThrough = true;
  }

  // ---- commands ------------------------------------------------------------

  /** Asks for a completion now (an explicit trigger, no debounce); a ghost
   * showing, still streaming or not, is left alone. */
  trigger(): void {
    if (this.current()) return;
    void this.request();
  }

  /** Accepts the whole suggestion shown, as one undo step, and stops one
   * still streaming: the user took what they saw. With `length`, accepts
   * its first `length` code units; the rest stays as ghost text and goes
   * on streaming. */
  accept(length?: number): boolean {
    const ghost = this.current();
    const selection = this.editor.selection;
    if (!ghost || !selection || !this.isAnchored(ghost.path)) return false;
    const part = length === undefined ? ghost.suggestion : ghost.suggestion.slice(0, length);
    const rest = ghost.suggestion.slice(part.length);
    if (length === undefined) this.cancel();
    else if (this.inflight) {
      this.inflight.taken += part;
      this.typedThrough = true;
    }
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
      void this.request();
    }, this.ctx.options.debounceMs);
  }

  private async request(): Promise<void> {
    this.cancel();
    const point = this.completionPoint();
    if (!point) return;
    this.ctx.sync.flush();
    const position = pointToPosition(this.editor, point, this.editor);
    const entry: Inflight = { abort: new AbortController(), version: this.ctx.sync.version, point, text: '', taken: '', done: false };
    this.inflight = entry;
    this.ctx.store.update({ completing: true });
    let result: NibCompleteResult;
    try {
      // No decoding fields: the daemon fills in its completion settings
      // (greedy, completion.maxTokens, stopAtSentenceEnd), as for inline
      // completion, whose type-through state it shares.
      result = await this.ctx.client.complete(
        { textDocument: { uri: this.ctx.sync.uri }, position },
        { signal: entry.abort.signal, onPartial: (value) => this.onPartial(entry, value) },
      );
    } catch (err) {
      if (this.inflight === entry && !isCancelled(err)) this.ctx.reportError(`nib: completion failed: ${errorMessage(err)}`);
      this.finish(entry);
      return;
    }
    if (this.inflight !== entry) return;
    // The answer is the authority: an answer from the daemon's
    // type-through state comes whole, with nothing streamed before it.
    entry.text = result.items[0]?.text ?? '';
    entry.done = true;
    // Typed through while the answer came: afterChange shows it once the
    // typed text has reached the daemon.
    if (!this.typedThrough) this.showStreamed(entry);
  }

  private onPartial(entry: Inflight, value: NibPartialResult): void {
    // Ghost text follows the greedy answer only.
    if (this.inflight !== entry || value.index !== 0) return;
    entry.text = applyPartial(entry.text, value);
    if (!this.typedThrough) this.showStreamed(entry);
  }

  /** After type-through: the stream in flight now continues from the new
   * cursor, and shows what came meanwhile. */
  private followCursor(entry: Inflight): void {
    entry.point = this.editor.selection?.anchor ?? entry.point;
    entry.version = this.ctx.sync.version;
    if (this.stillAt(entry)) this.showStreamed(entry);
    else this.cancel();
  }

  /** Shows the part of the suggestion so far that the user has not taken,
   * and ends the request once the daemon has answered. */
  private showStreamed(entry: Inflight): void {
    if (this.stillAt(entry)) {
      if (!entry.text.startsWith(entry.taken)) {
        // Only a beam's reset can take back text already typed through.
        this.dismiss();
        return;
      }
      const rest = entry.text.slice(entry.taken.length);
      if (this.current()) this.showSuggestion(rest);
      else if (rest.trim() !== '') {
        // Whitespace alone would be an invisible ghost.
        this.ctx.unrecorded(() => insertGhost(this.editor, entry.point, rest));
        // Inserting the ghost may split the leaf: the cursor, now right
        // before the ghost, is where the suggestion goes on.
        entry.point = this.editor.selection?.anchor ?? entry.point;
        this.setGhost(rest);
      }
    }
    if (entry.done) this.finish(entry);
  }

  /** Makes the ghost showing read `suggestion`, removing it when empty. */
  private showSuggestion(suggestion: string): void {
    this.ctx.unrecorded(() => {
      const [entry] = findGhosts(this.editor);
      if (!entry) return;
      if (suggestion === '') removeGhosts(this.editor);
      else if (ghostSuggestion(entry[0]) !== suggestion) setGhostSuggestion(this.editor, entry[1], suggestion);
    });
    this.setGhost(suggestion === '' ? null : suggestion);
  }

  private finish(entry: Inflight): void {
    if (this.inflight !== entry) return;
    this.inflight = undefined;
    this.ctx.store.update({ completing: false });
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

  /** Whether the request in flight still fits: same version, nothing
   * unsent, the cursor where it was, no ghost but its own, and nothing
   * else going on. */
  private stillAt(entry: Inflight): boolean {
    const { selection } = this.editor;
    const ghost = this.current();
    return (
      this.inflight === entry &&
      this.ctx.sync.version === entry.version &&
      !this.ctx.sync.hasPending &&
      !this.composing &&
      !this.paused &&
      selection !== null &&
      Range.isCollapsed(selection) &&
      Point.equals(selection.anchor, entry.point) &&
      (ghost === undefined || this.isAnchored(ghost.path))
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
