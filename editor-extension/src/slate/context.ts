import type { Editor } from 'slate';
import { HistoryEditor } from 'slate-history';
import type { Store } from './store';
import type { DocumentSync } from './sync';
import type { NibOptions, NibPluginClient, NibState } from './types';

/** What the completion and rewrite controllers share. */
export class NibContext {
  /** Depth of plugin-made changes in progress (ghost, accept, rewrite):
   * their text changes must not schedule a completion. */
  private internalDepth = 0;

  constructor(
    readonly editor: Editor,
    /** Replaced when the page reconnects (NibController.open). */
    public client: NibPluginClient,
    readonly sync: DocumentSync,
    readonly store: Store<NibState>,
    readonly options: Required<Omit<NibOptions, 'onError'>> & Pick<NibOptions, 'onError'>,
  ) {}

  get isInternal(): boolean {
    return this.internalDepth > 0;
  }

  /** Runs plugin-made changes. */
  internal(fn: () => void): void {
    this.internalDepth++;
    try {
      fn();
    } finally {
      this.internalDepth--;
    }
  }

  /** Runs changes that history must not record (ghost insert and removal):
   * undo must never bring a suggestion back or take one away. */
  unrecorded(fn: () => void): void {
    this.internal(() => {
      if (HistoryEditor.isHistoryEditor(this.editor)) HistoryEditor.withoutSaving(this.editor, fn);
      else fn();
    });
  }

  /** Runs a user-visible change as its own undo step. */
  ownUndoStep(fn: () => void): void {
    this.internal(() => {
      if (HistoryEditor.isHistoryEditor(this.editor)) HistoryEditor.withNewBatch(this.editor, fn);
      else fn();
    });
  }

  reportError(message: string): void {
    this.store.update({ error: message });
    this.options.onError?.(message);
  }
}
