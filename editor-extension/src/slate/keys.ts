import type { Editor } from 'slate';
import type { NibEditor } from './with-nib';

/** The fields of a keyboard event the plugin reads (React's or the DOM's). */
export interface KeyEventLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
  /** nativeEvent.isComposing: keys typed into an IME belong to it. */
  isComposing?: boolean;
  preventDefault(): void;
}

/** Ctrl+Shift+E (Cmd+Shift+E on a Mac) opens the rewrite of the selection. */
export function isRewriteShortcut(event: KeyEventLike): boolean {
  return (event.ctrlKey || event.metaKey) && event.shiftKey && !event.altKey && event.key.toLowerCase() === 'e';
}

/**
 * The plugin's keys, for Editable's onKeyDown: Tab accepts the ghost text,
 * Escape dismisses it (or closes the rewrite, or a checking suggestion), Ctrl/Cmd+Right accepts one
 * word, Ctrl+Space asks for a completion now, Ctrl/Cmd+Shift+E rewrites the
 * selection. Returns true when the key was handled (and prevented).
 */
export function handleNibKeyDown(editor: Editor & NibEditor, event: KeyEventLike): boolean {
  if (event.isComposing) return false;
  const { nib } = editor;
  const state = nib.getState();
  const plain = !event.ctrlKey && !event.metaKey && !event.altKey && !event.shiftKey;
  let handled = false;
  if (isRewriteShortcut(event)) handled = nib.startRewrite();
  else if (event.key === 'Escape' && state.rewrite) {
    nib.cancelRewrite();
    handled = true;
  } else if (event.key === 'Escape' && state.checkPopover) {
    nib.hideCheck();
    handled = true;
  } else if (state.ghost !== null && event.key === 'Tab' && plain) handled = nib.accept();
  else if (state.ghost !== null && event.key === 'Escape') handled = nib.dismiss();
  else if (state.ghost !== null && event.key === 'ArrowRight' && (event.ctrlKey || event.metaKey) && !event.shiftKey && !event.altKey) {
    handled = nib.acceptWord();
  } else if (event.key === ' ' && event.ctrlKey && !event.metaKey && !event.altKey && !event.shiftKey) {
    nib.trigger();
    handled = true;
  }
  if (handled) event.preventDefault();
  return handled;
}
