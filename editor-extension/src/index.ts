// nib for Slate: the plugin, its React pieces, the protocol types and the
// environment-neutral client. Node-only pieces (starting the daemon, the
// bridge) are in ./node; the browser's bridge connection is in ./browser.
export * from './protocol';
export { NibClient, type RequestOptions, type StreamOptions, type InitializeOptions, type DiagnosticsListener } from './client/nib-client';
export { isCancelled, errorCode } from './client/errors';
export { withNib, NibController, type NibEditor } from './slate/with-nib';
export { handleNibKeyDown, isRewriteShortcut, type KeyEventLike } from './slate/keys';
export { stripGhosts, isGhost, GHOST_TYPE, type NibGhostElement } from './slate/ghost';
export {
  defaultInstructions,
  type CheckFlag,
  type CheckPopoverState,
  type NibOptions,
  type NibPluginClient,
  type NibState,
  type RewriteState,
  type RewriteAlternative,
} from './slate/types';
export type { ShownCheck } from './slate/check';
export { mapRange, mapRangeThrough } from './mapping/ranges';
export { wordDiff, type DiffPart } from './slate/word-diff';
export { documentText, pointToPosition, positionToPoint } from './mapping/slate-text';
export { changesForOperation } from './mapping/operations';
export { NibGhost, renderNibElement } from './react/NibGhost';
export { RewritePanel, DiffView } from './react/RewritePanel';
export { RewriteButton } from './react/RewriteButton';
export { CheckPopover, NibCheckMark } from './react/CheckPopover';
export { useNibState, useNibEditable, rewriteTargetMark, checkMark, type CheckMarkValue } from './react/hooks';
