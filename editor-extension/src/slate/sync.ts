import { Editor, Node, type Operation } from 'slate';
import { changesForOperation, diffChanges } from '../mapping/operations';
import { applyContentChanges } from '../mapping/plain-text';
import { documentText } from '../mapping/slate-text';
import type { TextDocumentContentChangeEvent } from '../protocol';
import type { NibPluginClient } from './types';

/**
 * DocumentSync keeps the daemon's copy of the document equal to the editor.
 * Each operation is translated as it is applied (the tree before it is at
 * hand then); the changes of one Slate flush go out as one didChange with
 * the next version. A shadow copy of the daemon's text checks every flush:
 * if replaying the changes does not give the editor's text (an operation
 * translated wrongly), the whole text is sent instead and counted, so the
 * daemon is never left out of step.
 */
export class DocumentSync {
  private pending: TextDocumentContentChangeEvent[] = [];
  /** An operation of this flush brought a line break into a leaf. */
  private diffAtFlush = false;
  private shadow = '';
  private opened = false;
  private readonly flushListeners = new Set<(version: number, changes: readonly TextDocumentContentChangeEvent[]) => void>();
  /** The version of the last didOpen/didChange sent. */
  version = 0;
  /** Flushes that had to fall back to sending the whole text. */
  resyncs = 0;

  constructor(
    private readonly editor: Editor,
    /** The current client: a reconnect replaces it. */
    private readonly client: () => NibPluginClient,
    readonly uri: string,
    private readonly onError: (message: string) => void,
  ) {}

  get isOpen(): boolean {
    return this.opened;
  }

  /** Whether changes are waiting for the next flush. */
  get hasPending(): boolean {
    return this.pending.length > 0 || this.diffAtFlush;
  }

  open(): void {
    if (this.opened) return;
    // Split any line break inside a leaf (see withNib's normalizeNode)
    // before the daemon sees the text.
    Editor.normalize(this.editor, { force: true });
    this.shadow = documentText(this.editor, this.editor);
    this.pending = [];
    this.version = 1;
    this.opened = true;
    this.send(() => this.client().didOpen(this.uri, this.shadow, this.version));
  }

  close(): void {
    if (!this.opened) return;
    this.opened = false;
    this.pending = [];
    this.diffAtFlush = false;
    this.send(() => this.client().didClose(this.uri));
  }

  /** Called from editor.apply with the tree still as it was before `op`.
   * Returns whether `op` changes the daemon's text. */
  beforeApply(op: Operation): (() => boolean) {
    if (!this.opened || op.type === 'set_selection') return () => false;
    if (this.diffAtFlush || bringsLineBreak(op)) {
      // Until normalization has split the block at the line break, leaves
      // and lines disagree and positions mean nothing; the flush diffs the
      // normalized text against what the daemon has instead.
      this.diffAtFlush = true;
      this.pending = [];
      return () => true;
    }
    const changes = changesForOperation(this.editor, op, this.editor);
    if (changes) {
      this.pending.push(...changes);
      return () => changes.length > 0;
    }
    // Not translatable locally: diff the texts once the op is applied.
    const before = documentText(this.editor, this.editor);
    return () => {
      const diffed = diffChanges(before, documentText(this.editor, this.editor));
      this.pending.push(...diffed);
      return diffed.length > 0;
    };
  }

  /** Calls `listener` with each didChange sent: its version and changes.
   * Returns the unsubscribe. */
  onFlush(listener: (version: number, changes: readonly TextDocumentContentChangeEvent[]) => void): () => void {
    this.flushListeners.add(listener);
    return () => this.flushListeners.delete(listener);
  }

  /** Sends what changed since the last flush; returns whether anything did. */
  flush(): boolean {
    if (!this.opened) return false;
    const expected = documentText(this.editor, this.editor);
    if (this.diffAtFlush) {
      this.diffAtFlush = false;
      this.pending = diffChanges(this.shadow, expected);
    }
    if (this.pending.length === 0) return false;
    let changes = this.pending;
    this.pending = [];
    let replayed: string | undefined;
    try {
      replayed = applyContentChanges(this.shadow, changes);
    } catch {
      replayed = undefined;
    }
    if (replayed !== expected) {
      this.resyncs++;
      this.onError('nib: document changes went out of step; sent the whole text');
      changes = [{ text: expected }];
    }
    this.shadow = expected;
    this.version++;
    this.send(() => this.client().didChange(this.uri, this.version, changes));
    for (const listener of this.flushListeners) listener(this.version, changes);
    return true;
  }

  /** The text the daemon has as of the last flush. */
  get daemonText(): string {
    return this.shadow;
  }

  private send(notify: () => Promise<void> | void): void {
    // A notification that cannot be written means the connection is gone
    // (a closed vscode-jsonrpc connection even throws before returning);
    // the client reports that through its own close event, and typing must
    // go on meanwhile.
    try {
      notify()?.catch(() => {});
    } catch {
      // Reported by the client's close event, as above.
    }
  }
}

const lineBreak = /[\r\n]/;

/** Whether `op` puts a line break into a leaf (typed, pasted or inserted
 * text), which normalization will turn into a block split. */
function bringsLineBreak(op: Operation): boolean {
  if (op.type === 'insert_text') return lineBreak.test(op.text);
  if (op.type === 'insert_node') return [...Node.texts(op.node)].some(([leaf]) => lineBreak.test(leaf.text));
  return false;
}
