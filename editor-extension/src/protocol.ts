// Types of nib's wire protocol, mirroring PROTOCOL.md at the repository root
// and server/protocol.go; the settings and nib/stats types at the end are
// generated from the Go types. Only what nib uses of LSP 3.17/3.18 is declared
// here, so that a change in PROTOCOL.md shows up as one diff in this file.
// Optional fields are optional on the wire too: the daemon fills defaults.

/** Methods nib adds to LSP, and the standard ones the extension sends. */
export const Method = {
  initialize: 'initialize',
  initialized: 'initialized',
  shutdown: 'shutdown',
  exit: 'exit',
  didOpen: 'textDocument/didOpen',
  didChange: 'textDocument/didChange',
  didClose: 'textDocument/didClose',
  didChangeConfiguration: 'workspace/didChangeConfiguration',
  inlineCompletion: 'textDocument/inlineCompletion',
  codeAction: 'textDocument/codeAction',
  publishDiagnostics: 'textDocument/publishDiagnostics',
  executeCommand: 'workspace/executeCommand',
  applyEdit: 'workspace/applyEdit',
  workDoneProgressCreate: 'window/workDoneProgress/create',
  progress: '$/progress',
  cancelRequest: '$/cancelRequest',
  showMessage: 'window/showMessage',
  logMessage: 'window/logMessage',
  complete: 'nib/complete',
  rewrite: 'nib/rewrite',
  stats: 'nib/stats',
} as const;

/** The command that code actions carry and workspace/executeCommand runs. */
export const RewriteCommand = 'nib.rewrite';

/** Commands of checking's code actions (PROTOCOL.md, "Checking"): the
 * daemon remembers what is ignored and publishes again without it. */
export const IgnoreSentenceCommand = 'nib.ignoreSentence';
export const IgnoreInDocumentCommand = 'nib.ignoreInDocument';

/** JSON-RPC and LSP error codes nib answers with (PROTOCOL.md, "Errors"). */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  ServerNotInitialized: -32002,
  RequestCancelled: -32800,
  ContentModified: -32801,
  RequestFailed: -32803,
} as const;

// ---- LSP basics -----------------------------------------------------------

/** Position in a document. `character` counts code units of the negotiated
 * encoding; the extension always negotiates UTF-16, JavaScript's own. */
export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export interface TextEdit {
  range: Range;
  newText: string;
}

export type DocumentUri = string;
export type ProgressToken = number | string;
export type PositionEncoding = 'utf-16' | 'utf-8' | 'utf-32';

export interface TextDocumentIdentifier {
  uri: DocumentUri;
}

export interface VersionedTextDocumentIdentifier extends TextDocumentIdentifier {
  version: number;
}

export interface OptionalVersionedTextDocumentIdentifier extends TextDocumentIdentifier {
  version: number | null;
}

export interface TextDocumentItem {
  uri: DocumentUri;
  languageId: string;
  version: number;
  text: string;
}

/** An incremental change (range and replacement) or the whole text. */
export type TextDocumentContentChangeEvent =
  | { range: Range; text: string }
  | { text: string };

export interface DidOpenTextDocumentParams {
  textDocument: TextDocumentItem;
}

export interface DidChangeTextDocumentParams {
  textDocument: VersionedTextDocumentIdentifier;
  contentChanges: TextDocumentContentChangeEvent[];
}

export interface DidCloseTextDocumentParams {
  textDocument: TextDocumentIdentifier;
}

/** Settings under `nib`, or (PROTOCOL.md, "Settings") the settings
 * themselves when there is no `nib` key. */
export interface DidChangeConfigurationParams {
  settings: { nib: NibSettings } | NibSettings;
}

// ---- lifecycle ------------------------------------------------------------

/** The part of LSP ClientCapabilities that nib reads. */
export interface ClientCapabilities {
  general?: { positionEncodings?: PositionEncoding[] };
  window?: { workDoneProgress?: boolean; showMessage?: object };
  workspace?: {
    applyEdit?: boolean;
    workspaceEdit?: { documentChanges?: boolean };
    configuration?: boolean;
  };
  textDocument?: {
    synchronization?: { dynamicRegistration?: boolean };
    inlineCompletion?: { dynamicRegistration?: boolean };
    codeAction?: object;
  };
}

export interface InitializeParams {
  processId: number | null;
  clientInfo?: { name: string; version?: string };
  rootUri: DocumentUri | null;
  capabilities: ClientCapabilities;
  initializationOptions?: NibSettings;
}

/** TextDocumentSyncKind.Incremental; nib announces it and the extension
 * sends only incremental changes (a whole-text change only to resync). */
export const TextDocumentSyncKindIncremental = 2;

export interface ServerCapabilities {
  positionEncoding: PositionEncoding;
  textDocumentSync: { openClose: boolean; change: number };
  inlineCompletionProvider: boolean;
  codeActionProvider: { codeActionKinds: string[]; resolveProvider: boolean };
  executeCommandProvider: { commands: string[] };
}

export interface InitializeResult {
  capabilities: ServerCapabilities;
  serverInfo?: { name: string; version?: string };
}

// ---- settings -------------------------------------------------------------

export type DecodeStrategy = 'greedy' | 'beam' | 'sample' | 'diverse';

// NibSettings (initializationOptions, workspace/didChangeConfiguration
// under `settings.nib`; every field optional) is generated: see the end of
// the file.

// ---- progress -------------------------------------------------------------

export interface ProgressParams<T> {
  token: ProgressToken;
  value: T;
}

export interface WorkDoneProgressCreateParams {
  token: ProgressToken;
}

export interface WorkDoneProgressBegin {
  kind: 'begin';
  title: string;
  cancellable?: boolean;
  message?: string;
  percentage?: number;
}

export interface WorkDoneProgressReport {
  kind: 'report';
  cancellable?: boolean;
  message?: string;
  percentage?: number;
}

export interface WorkDoneProgressEnd {
  kind: 'end';
  message?: string;
}

export type WorkDoneProgressValue = WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd;

/** A streamed piece of nib/complete or nib/rewrite: alternative `index`
 * grew by `delta`, or (beam search) its text so far is now `reset`. The
 * daemon leaves out an empty delta, so read a missing one as "". */
export interface NibPartialResult {
  index: number;
  delta?: string;
  reset?: string;
}

/** The text of alternative `value.index` after `value`, given `before`. */
export function applyPartial(before: string, value: NibPartialResult): string {
  return typeof value.reset === 'string' ? value.reset : before + (value.delta ?? '');
}

// ---- inline completion (LSP 3.18) -------------------------------------------

export const InlineCompletionTriggerKind = { Invoked: 1, Automatic: 2 } as const;

export interface InlineCompletionContext {
  triggerKind: (typeof InlineCompletionTriggerKind)[keyof typeof InlineCompletionTriggerKind];
  selectedCompletionInfo?: { range: Range; text: string };
}

export interface InlineCompletionParams {
  textDocument: TextDocumentIdentifier;
  position: Position;
  context: InlineCompletionContext;
}

export interface InlineCompletionItem {
  insertText: string;
  range?: Range;
  filterText?: string;
}

export interface InlineCompletionList {
  items: InlineCompletionItem[];
}

// ---- rewrite through code actions -----------------------------------------

export interface CodeActionParams {
  textDocument: TextDocumentIdentifier;
  range: Range;
  context: { diagnostics: Diagnostic[]; only?: string[] };
}

export interface NibRewriteCommandArguments {
  textDocument: VersionedTextDocumentIdentifier;
  range: Range;
  instruction: string;
}

export interface Command {
  title: string;
  command: string;
  arguments?: unknown[];
}

export interface CodeAction {
  title: string;
  /** 'refactor.rewrite' for rewrites, 'quickfix' for checking's. */
  kind?: string;
  diagnostics?: Diagnostic[];
  isPreferred?: boolean;
  edit?: WorkspaceEdit;
  command?: Command;
}

export interface ExecuteCommandParams {
  command: string;
  arguments?: unknown[];
  /** nib.rewrite reports the rewrite so far as work-done progress on it. */
  workDoneToken?: ProgressToken;
}

export interface NibRewriteCommandResult {
  applied: boolean;
  text: string;
}

export interface TextDocumentEdit {
  textDocument: OptionalVersionedTextDocumentIdentifier;
  edits: TextEdit[];
}

export interface WorkspaceEdit {
  changes?: Record<DocumentUri, TextEdit[]>;
  documentChanges?: TextDocumentEdit[];
}

export interface ApplyWorkspaceEditParams {
  label?: string;
  edit: WorkspaceEdit;
}

export interface ApplyWorkspaceEditResult {
  applied: boolean;
  failureReason?: string;
}

// ---- checking (grammar and spelling) ----------------------------------------

export const DiagnosticSeverity = { Error: 1, Warning: 2, Information: 3, Hint: 4 } as const;

export interface Diagnostic {
  range: Range;
  severity?: (typeof DiagnosticSeverity)[keyof typeof DiagnosticSeverity];
  code?: number | string;
  source?: string;
  message: string;
  data?: unknown;
}

/** The `data` of nib's diagnostics: one change of one sentence. `old` is
 * the text under the diagnostic's range (empty for an insertion), `new`
 * its replacement (empty for a removal). */
export interface NibCheckData {
  sentence: string;
  correction: string;
  old: string;
  new: string;
}

/** A diagnostic of nib's: source "nib", code "grammar", with NibCheckData. */
export interface NibCheckDiagnostic extends Diagnostic {
  data: NibCheckData;
}

export function isNibCheckDiagnostic(diagnostic: Diagnostic): diagnostic is NibCheckDiagnostic {
  const data = diagnostic.data as Partial<NibCheckData> | undefined;
  return (
    diagnostic.source === 'nib' &&
    typeof data === 'object' &&
    data !== null &&
    typeof data.sentence === 'string' &&
    typeof data.correction === 'string' &&
    typeof data.old === 'string' &&
    typeof data.new === 'string'
  );
}

/** textDocument/publishDiagnostics: the document's diagnostics as of
 * `version`, replacing any published before. */
export interface PublishDiagnosticsParams {
  uri: DocumentUri;
  version?: number;
  diagnostics: Diagnostic[];
}

export interface NibIgnoreSentenceArguments {
  sentence: string;
}

export interface NibIgnoreInDocumentArguments {
  textDocument: TextDocumentIdentifier;
  old: string;
  new: string;
}

// ---- nib/complete and nib/rewrite -------------------------------------------

/** Decoding fields shared by nib/complete and nib/rewrite. */
export interface SamplingParams {
  n?: number;
  maxTokens?: number;
  strategy?: DecodeStrategy;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  partialResultToken?: ProgressToken;
}

export interface NibCompleteParams extends SamplingParams {
  textDocument: TextDocumentIdentifier;
  position: Position;
  stopAtSentenceEnd?: boolean;
}

export type FinishReason = 'eos' | 'length' | 'sentence' | 'stop';
export type CacheUse = 'none' | 'encoder' | 'typeThrough';

export interface NibCompleteItem {
  text: string;
  tokens: number;
  finish: FinishReason;
}

export interface NibCompleteResult {
  items: NibCompleteItem[];
  cached: CacheUse;
}

export interface NibRewriteParams extends SamplingParams {
  textDocument: VersionedTextDocumentIdentifier;
  range: Range;
  instruction: string;
  /** Rewrite this text instead of the range's: a refinement, where it is the
   * alternative chosen from an earlier preview and `instruction` the
   * follow-up. Edits still turn the range's text into each result. */
  text?: string;
}

export interface NibRewriteItem {
  text: string;
  /** Turn the range's text into `text` with minimal changes; positions are
   * in the document as of the request's version. Absent when empty. */
  edits?: TextEdit[];
  tokens: number;
  finish: FinishReason;
}

export interface NibRewriteResult {
  items: NibRewriteItem[];
  cached: CacheUse;
}

// ---- nib/stats --------------------------------------------------------------

export type ModelState = 'ready' | 'loading' | 'failed' | 'none';

// NibStats and CacheCounters are generated: see the end of the file.

// ---- window messages --------------------------------------------------------

export const MessageType = { Error: 1, Warning: 2, Info: 3, Log: 4 } as const;

export interface ShowMessageParams {
  type: (typeof MessageType)[keyof typeof MessageType];
  message: string;
}

// ---- generated from the Go types of server/ by `go generate ./server`: do not edit ----

/**
 * NibSettings are what a client may configure, through initializationOptions
 * and workspace/didChangeConfiguration (PROTOCOL.md, "Settings").
 */
export interface NibSettings {
  model?: string;
  adapter?: string;
  f16?: boolean;
  /**
   * int8 stores the projections as 8-bit values (a scale per 32):
   * half the memory of f16, logits within about 2e-2 of f32.
   */
  int8?: boolean;
  maxInputTokens?: number;
  completion?: NibCompleteSettings;
  rewrite?: NibRewriteSettings;
  check?: NibCheckSettings;
  templates?: NibTemplates;
  instructions?: NibInstruction[];
  queueSize?: number;
  loadTimeoutMs?: number;
  /**
   * encoderCacheMB and decoderCacheMB bound the GPU memory of the
   * encoder-output cache and of the decoder states kept for
   * type-through.
   */
  encoderCacheMB?: number;
  decoderCacheMB?: number;
}

export interface NibCompleteSettings {
  maxTokens?: number;
  stopAtSentenceEnd?: boolean;
}

export interface NibRewriteSettings {
  /**
   * maxTokens is the most tokens a rewrite may have; lengthRatio and
   * lengthMargin size each rewrite's budget under it by the selection
   * (completion.RewriteLength), lengthRatio 0 turning that off.
   */
  maxTokens?: number;
  lengthRatio?: number;
  lengthMargin?: number;
  alternatives?: number;
  strategy?: DecodeStrategy;
}

/** NibCheckSettings configure grammar checking (PROTOCOL.md, "Checking"). */
export interface NibCheckSettings {
  enabled?: boolean;
  instruction?: string;
  /**
   * maxChangedWords, maxChangedChars and minGain are
   * completion.CheckRule's.
   */
  maxChangedWords?: number;
  maxChangedChars?: number;
  minGain?: number;
  /** languages are the languageIds checked; empty checks every document. */
  languages?: string[];
  debounceMs?: number;
  /** severity is "information" or "hint". */
  severity?: string;
  cacheMB?: number;
}

export interface NibTemplates {
  complete?: string;
  rewrite?: string;
}

/** NibInstruction is one rewrite offered as a code action. */
export interface NibInstruction {
  id: string;
  title: string;
  instruction: string;
}

export interface NibStats {
  model: NibModelStats;
  gpu: NibGPUStats;
  caches: { pipelines?: CacheCounters; encoder?: CacheCounters; decoder?: CacheCounters; [name: string]: CacheCounters | undefined };
  requests: NibRequestCounts;
  recent: NibRecentRequest[];
  process: NibProcessStats;
  check: NibCheckStats;
}

export interface NibModelStats {
  name: string;
  state: ModelState;
  error?: string;
  weightBytes: number;
  dtype?: string;
}

export interface NibGPUStats {
  adapter: string;
  residentBytes: number;
}

export interface NibRequestCounts {
  served: number;
  cancelled: number;
  failed: number;
  queued: number;
  /**
   * inFlight counts the requests of any method received and not yet
   * answered, this nib/stats included.
   */
  inFlight: number;
  /**
   * batchLimit is the most requests decoded together now; outOfMemory
   * counts the batches that failed for want of GPU memory.
   */
  batchLimit: number;
  outOfMemory: number;
}

export interface NibRecentRequest {
  method: string;
  tokens: number;
  ms: number;
  tokensPerSecond: number;
  cached: CacheUse;
}

/** NibProcessStats describe the daemon process, for leak checks. */
export interface NibProcessStats {
  goroutines: number;
  /**
   * heapBytes is the Go heap in use (live and not yet collected
   * objects); maxRSSBytes the peak resident memory of the process (0
   * where the system does not say).
   */
  heapBytes: number;
  maxRSSBytes: number;
}

/** NibCheckStats are nib/stats' check counters. */
export interface NibCheckStats {
  checked: number;
  cached: number;
  reported: number;
  ignored: number;
  pending: number;
}

export interface CacheCounters {
  hits: number;
  misses: number;
  entries: number;
  bytes: number;
  budgetBytes: number;
}

// ---- end of the generated types ----
