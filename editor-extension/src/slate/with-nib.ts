import { Editor, Path, Text, Transforms, type Descendant, type Range } from 'slate';
import { HistoryEditor } from 'slate-history';
import { applyTextEdits as applyEditsToText } from '../mapping/plain-text';
import { charactersBefore, documentText, lineContaining } from '../mapping/slate-text';
import type { ApplyWorkspaceEditParams, ApplyWorkspaceEditResult, TextEdit } from '../protocol';
import { registerApplyEdit } from './apply-edit-router';
import { CheckController, type ShownCheck } from './check';
import { CompletionController } from './completion';
import { NibContext } from './context';
import { applyTextEdits } from './edits';
import { isGhost, stripGhosts } from './ghost';
import { RewriteController } from './rewrite';
import { Store } from './store';
import { DocumentSync } from './sync';
import { defaultInstructions, type NibOptions, type NibPluginClient, type NibState } from './types';

/** The commands and state withNib adds to an editor as `editor.nib`. */
export class NibController {
  private unregister: (() => void) | undefined;

  constructor(
    private readonly ctx: NibContext,
    private readonly completion: CompletionController,
    private readonly rewriter: RewriteController,
    private readonly checker: CheckController,
  ) {}

  readonly getState = (): NibState => this.ctx.store.getState();
  readonly subscribe = (listener: () => void): (() => void) => this.ctx.store.subscribe(listener);

  get instructions() {
    return this.ctx.options.instructions;
  }

  /** Sends didOpen with the current text and starts syncing. Pass a new
   * client after the connection was lost and made again (call close()
   * when it is lost): the document goes to it as it stands now. */
  open(client?: NibPluginClient): void {
    if (client && client !== this.ctx.client) {
      this.close();
      this.ctx.client = client;
    }
    // Results are mapped through the changes sent since the didOpen, so
    // the checker starts afresh only with a new one.
    if (!this.ctx.sync.isOpen) {
      this.ctx.sync.open();
      this.checker.attach();
    }
    this.unregister ??= registerApplyEdit(this.ctx.client, this.ctx.sync.uri, (params) => this.applyWorkspaceEdit(params));
    this.ctx.store.update({ open: true, version: this.ctx.sync.version });
  }

  /** Stops everything in flight, removes the ghost, sends didClose. */
  close(): void {
    this.rewriter.cancel();
    this.completion.dismiss();
    this.checker.detach();
    this.ctx.sync.close();
    this.unregister?.();
    this.unregister = undefined;
    this.ctx.store.update({ open: false });
  }

  /** The daemon's view of the document: never includes ghost text. */
  text(): string {
    return documentText(this.ctx.editor, this.ctx.editor);
  }

  /** The value to save: editor.children without the ghost. */
  value(): Descendant[] {
    return stripGhosts(this.ctx.editor.children);
  }

  trigger(): void {
    this.completion.trigger();
  }

  accept(): boolean {
    return this.completion.accept();
  }

  acceptWord(): boolean {
    return this.completion.acceptWord();
  }

  dismiss(): boolean {
    return this.completion.dismiss();
  }

  setComposing(composing: boolean): void {
    this.completion.setComposing(composing);
  }

  startRewrite(): boolean {
    return this.rewriter.start();
  }

  runRewrite(instruction: string): Promise<void> {
    return this.rewriter.run(instruction);
  }

  refineRewrite(instruction: string, index: number): Promise<void> {
    return this.rewriter.refine(instruction, index);
  }

  acceptRewrite(index: number): boolean {
    return this.rewriter.accept(index);
  }

  cancelRewrite(): void {
    this.rewriter.cancel();
  }

  rewriteTarget(): Range | null {
    return this.rewriter.targetRange();
  }

  /** Checking's flags with the Slate ranges to underline (see decorate in
   * useNibEditable). */
  checks(): ShownCheck[] {
    return this.checker.shown();
  }

  /** Applies flag `id`'s correction as one undo step. */
  acceptCheck(id: string): boolean {
    return this.checker.accept(id);
  }

  /** nib.ignoreSentence for flag `id`'s sentence; its flags go at once. */
  ignoreCheckSentence(id: string): Promise<void> {
    return this.checker.ignoreSentence(id);
  }

  /** nib.ignoreInDocument for flag `id`'s change; its flags go at once. */
  ignoreCheckInDocument(id: string): Promise<void> {
    return this.checker.ignoreInDocument(id);
  }

  showCheck(id: string, pinned = false): void {
    this.checker.showPopover(id, pinned);
  }

  hideCheck(delayMs = 0): void {
    this.checker.hidePopover(delayMs);
  }

  /** Answers the daemon's workspace/applyEdit for this document (nib.rewrite
   * run as a command) by applying the edits as one undo step. */
  applyWorkspaceEdit(params: ApplyWorkspaceEditParams): ApplyWorkspaceEditResult {
    const { sync } = this.ctx;
    sync.flush();
    const edits: TextEdit[] = [...(params.edit.changes?.[sync.uri] ?? [])];
    for (const change of params.edit.documentChanges ?? []) {
      if (change.textDocument.uri !== sync.uri) continue;
      if (change.textDocument.version !== null && change.textDocument.version !== sync.version) {
        return { applied: false, failureReason: `nib: edit for version ${change.textDocument.version}, document is at ${sync.version}` };
      }
      edits.push(...change.edits);
    }
    if (edits.length === 0) return { applied: false, failureReason: 'nib: no edit for this document' };
    try {
      applyEditsToText(this.text(), edits);
    } catch (err) {
      return { applied: false, failureReason: `nib: edit outside the document: ${String(err)}` };
    }
    this.completion.dismiss();
    this.ctx.ownUndoStep(() => applyTextEdits(this.ctx.editor, edits));
    return { applied: true };
  }
}

export interface NibEditor {
  nib: NibController;
}

/**
 * withNib adds nib to a Slate editor: document sync with the daemon, ghost
 * text completion, rewrite, and checking's flags. Apply it outermost, after withHistory, so it
 * sees every operation (undo and redo included) and can keep the ghost out
 * of history: `withNib(withHistory(withReact(createEditor())), client, {uri})`.
 * Then call editor.nib.open() once the editor holds its initial value.
 */
export function withNib<T extends Editor>(editor: T, client: NibPluginClient, options: NibOptions): T & NibEditor {
  const e = editor as T & NibEditor;
  const store = new Store<NibState>({
    open: false,
    ghost: null,
    completing: false,
    rewrite: null,
    version: 0,
    resyncs: 0,
    error: null,
    checks: [],
    checkPopover: null,
  });
  const resolved = {
    uri: options.uri,
    debounceMs: options.debounceMs ?? 250,
    instructions: options.instructions ?? defaultInstructions,
    alternatives: options.alternatives ?? 3,
    onError: options.onError,
  };
  let ctx: NibContext | undefined;
  const sync = new DocumentSync(e, () => ctx?.client ?? client, options.uri, (message) => ctx?.reportError(message));
  ctx = new NibContext(e, client, sync, store, resolved);
  const completion = new CompletionController(ctx);
  const rewrite = new RewriteController(ctx, completion);
  e.nib = new NibController(ctx, completion, rewrite, new CheckController(ctx, completion));

  const { apply, onChange, insertText, isInline, isVoid, isSelectable, getFragment, insertFragment, normalizeNode } = e;

  e.isInline = (element) => isGhost(element) || isInline(element);
  e.isVoid = (element) => isGhost(element) || isVoid(element);
  // Arrow keys and clicks never land inside the ghost.
  e.isSelectable = (element) => !isGhost(element) && isSelectable(element);

  // A line break inside a leaf would be a line of the daemon's text that
  // is not a block of Slate's, and every position after it would be off:
  // split the block there instead, as Enter would.
  e.normalizeNode = (entry, normalizeOptions) => {
    const [node, path] = entry;
    if (Text.isText(node)) {
      const lineBreak = /\r\n|\r|\n/.exec(node.text);
      const line = lineBreak ? lineContaining(e, path, e) : undefined;
      if (lineBreak && line && !charactersBefore(line, path).inGhost) {
        const at = { path, offset: lineBreak.index };
        Editor.withoutNormalizing(e, () => {
          Transforms.delete(e, { at: { anchor: at, focus: { path, offset: lineBreak.index + lineBreak[0].length } } });
          Transforms.splitNodes(e, { at, always: true, match: (_n, p) => Path.equals(p, line.path) });
        });
        return;
      }
    }
    normalizeNode(entry, normalizeOptions);
  };

  e.apply = (op) => {
    const changed = sync.beforeApply(op);
    apply(op);
    if (changed()) completion.noteTextChange();
  };

  e.onChange = (changeOptions) => {
    sync.flush();
    completion.afterChange();
    store.update({ version: sync.version, resyncs: sync.resyncs });
    onChange(changeOptions);
  };

  e.insertText = (text, insertOptions) => completion.insertText(text, insertOptions, () => insertText(text, insertOptions));

  // Structural edits take the ghost away first: history must only ever see
  // operations on a ghost-free tree (or, for type-through, on the text
  // before the ghost), so that undo replays on the tree it recorded.
  for (const method of ['deleteBackward', 'deleteForward', 'deleteFragment', 'insertBreak', 'insertSoftBreak'] as const) {
    const original = e[method] as (...args: unknown[]) => void;
    (e as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      completion.dismiss();
      original(...args);
    };
  }
  e.getFragment = () => stripGhosts(getFragment());
  e.insertFragment = (fragment, fragmentOptions) => {
    completion.dismiss();
    insertFragment(stripGhosts(fragment as Descendant[]), fragmentOptions);
  };
  if (HistoryEditor.isHistoryEditor(e)) {
    const { undo, redo } = e;
    e.undo = () => {
      completion.dismiss();
      undo();
    };
    e.redo = () => {
      completion.dismiss();
      redo();
    };
  }
  return e;
}
