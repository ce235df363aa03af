import type { NibClient } from '../client/nib-client';
import type { NibInstruction, Range as LspRange, TextEdit } from '../protocol';

/** The part of NibClient the plugin uses; tests pass a fake. */
export type NibPluginClient = Pick<NibClient, 'didOpen' | 'didChange' | 'didClose' | 'complete' | 'rewrite'> &
  Partial<Pick<NibClient, 'setApplyEditHandler'>>;

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
}
