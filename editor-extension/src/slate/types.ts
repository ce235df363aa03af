import type { NibClient } from '../client/nib-client';
import type { Diagnostic, NibCheckData, NibInstruction, Range as LspRange, TextEdit } from '../protocol';

/** The part of NibClient the plugin uses; tests pass a fake. Without
 * onDiagnostics nothing is checked. */
export type NibPluginClient = Pick<NibClient, 'didOpen' | 'didChange' | 'didClose' | 'complete' | 'rewrite'> &
  Partial<Pick<NibClient, 'setApplyEditHandler' | 'onDiagnostics' | 'ignoreSentence' | 'ignoreInDocument'>>;

export interface NibOptions {
  /** The document's URI on the wire; unique per open editor. */
  uri: string;
  /** Quiet time after typing before a completion is requested. */
  debounceMs?: number;
  /** Instructions offered for rewrite; defaults to defaultInstructions. */
  instructions?: NibInstruction[];
  /** Rewrite alternatives to ask for (n). */
  alternatives?: number;
  /** Errors worth showing (a failed request, a resync). */
  onError?: (message: string) => void;
}

/** The four instructions the issue asks for; a custom one can be typed. */
export const defaultInstructions: NibInstruction[] = [
  { id: 'grammar', title: 'Fix grammar', instruction: 'Fix the grammar' },
  { id: 'formal', title: 'More formal', instruction: 'Make it more formal' },
  { id: 'simpler', title: 'Simpler', instruction: 'Make it simpler' },
  { id: 'shorter', title: 'Shorter', instruction: 'Make it shorter' },
];

/** One rewrite alternative as previewed. */
export interface RewriteAlternative {
  text: string;
  edits: TextEdit[];
}

/** `base`, in a refinement, is the earlier alternative being rewritten
 * again; `original` is always the document's text under the range. */
export type RewriteState =
  | { phase: 'choosing'; original: string; range: LspRange }
  | { phase: 'running'; original: string; range: LspRange; instruction: string; base?: string; partial: string[] }
  | { phase: 'preview'; original: string; range: LspRange; instruction: string; base?: string; version: number; alternatives: RewriteAlternative[] }
  | { phase: 'failed'; original: string; range: LspRange; instruction: string; message: string };

/** One of checking's corrections, where it lies in the document now. */
export interface CheckFlag {
  /** Stable while the daemon keeps reporting the same change there. */
  id: string;
  /** The text to replace (empty where words are to be inserted), in the
   * current version's coordinates: re-mapped through every edit since. */
  range: LspRange;
  /** What is underlined: the range, or for an insertion the word it goes
   * before (or, at a line's end, after). Never empty. */
  shown: LspRange;
  /** The range's text when it was flagged; accepting checks it is still so. */
  text: string;
  severity: NonNullable<Diagnostic['severity']>;
  message: string;
  data: NibCheckData;
}

/** The suggestion shown for a flag: on hover, or pinned by a click. */
export interface CheckPopoverState {
  id: string;
  pinned: boolean;
}

export interface NibState {
  /** didOpen sent and not closed. */
  open: boolean;
  /** The suggestion showing as ghost text, if any. */
  ghost: string | null;
  /** A completion request is in flight. */
  completing: boolean;
  rewrite: RewriteState | null;
  /** The document version the daemon has. */
  version: number;
  /** Flushes that fell back to sending the whole text (should stay 0). */
  resyncs: number;
  /** The last error, for a status line. */
  error: string | null;
  /** Checking's corrections, in document order. */
  checks: CheckFlag[];
  checkPopover: CheckPopoverState | null;
}
