import { ProgressType, type Disposable, type MessageConnection } from 'vscode-jsonrpc';
import {
  IgnoreInDocumentCommand,
  IgnoreSentenceCommand,
  Method,
  RewriteCommand,
  type ApplyWorkspaceEditParams,
  type ApplyWorkspaceEditResult,
  type CodeAction,
  type CodeActionParams,
  type DidChangeConfigurationParams,
  type InitializeParams,
  type InitializeResult,
  type InlineCompletionList,
  type InlineCompletionParams,
  type NibCompleteParams,
  type NibIgnoreInDocumentArguments,
  type NibIgnoreSentenceArguments,
  type NibCompleteResult,
  type NibPartialResult,
  type NibRewriteCommandArguments,
  type NibRewriteCommandResult,
  type NibRewriteParams,
  type NibRewriteResult,
  type NibSettings,
  type NibStats,
  type ProgressToken,
  type PublishDiagnosticsParams,
  type ShowMessageParams,
  type TextDocumentContentChangeEvent,
  type WorkDoneProgressCreateParams,
  type WorkDoneProgressValue,
} from '../protocol';
import { tokenFromSignal } from './cancellation';
import { abortError } from './errors';

/** Options of one request: aborting the signal sends $/cancelRequest. */
export interface RequestOptions {
  signal?: AbortSignal;
}

/** Options of a streamed request: onPartial receives each $/progress value
 * sent for the request's partialResultToken. */
export interface StreamOptions extends RequestOptions {
  onPartial?: (value: NibPartialResult) => void;
}

export type ApplyEditHandler = (params: ApplyWorkspaceEditParams) => ApplyWorkspaceEditResult | Promise<ApplyWorkspaceEditResult>;
export type WorkDoneListener = (token: ProgressToken, value: WorkDoneProgressValue) => void;
export type MessageListener = (params: ShowMessageParams, kind: 'show' | 'log') => void;
export type DiagnosticsListener = (params: PublishDiagnosticsParams) => void;

export interface InitializeOptions {
  settings?: NibSettings;
  clientName?: string;
  processId?: number | null;
}

const partialResult = new ProgressType<NibPartialResult>();
const workDone = new ProgressType<WorkDoneProgressValue>();

/**
 * NibClient speaks nib's protocol over any vscode-jsonrpc MessageConnection:
 * the daemon's stdio in Node (see node/daemon.ts) or the bridge's WebSocket
 * in a browser (see browser.ts). It only imports vscode-jsonrpc's common
 * API, so the same code runs in both places.
 */
export class NibClient {
  readonly connection: MessageConnection;
  private applyEditHandler: ApplyEditHandler | undefined;
  private readonly workDoneListeners = new Set<WorkDoneListener>();
  private readonly messageListeners = new Set<MessageListener>();
  private readonly diagnosticsListeners = new Set<DiagnosticsListener>();
  private readonly closeListeners = new Set<(reason: string | undefined) => void>();
  /** The transport's last error, which for a closed connection says why. */
  private lastError: string | undefined;
  /** Work-done progress in flight: its begin and latest report. */
  private readonly activeWorkDone = new Map<ProgressToken, WorkDoneProgressValue[]>();
  private initResult: InitializeResult | undefined;
  private nextToken = 0;
  private closed = false;

  constructor(connection: MessageConnection) {
    this.connection = connection;
    connection.onRequest(Method.workDoneProgressCreate, (params: WorkDoneProgressCreateParams) => {
      this.followWorkDone(params.token);
      return null;
    });
    connection.onRequest(Method.applyEdit, async (params: ApplyWorkspaceEditParams): Promise<ApplyWorkspaceEditResult> => {
      if (!this.applyEditHandler) return { applied: false, failureReason: 'nib: no editor handles workspace/applyEdit' };
      return this.applyEditHandler(params);
    });
    connection.onNotification(Method.showMessage, (params: ShowMessageParams) => this.emitMessage(params, 'show'));
    connection.onNotification(Method.logMessage, (params: ShowMessageParams) => this.emitMessage(params, 'log'));
    connection.onNotification(Method.publishDiagnostics, (params: PublishDiagnosticsParams) => {
      for (const listener of this.diagnosticsListeners) listener(params);
    });
    connection.onError(([error]) => (this.lastError = error.message));
    // Disposed counts as closed: node/daemon.ts disposes the connection when
    // the process exits, which can come before its stdout reports the close.
    const closed = () => {
      if (this.closed) return;
      this.closed = true;
      for (const listener of this.closeListeners) listener(this.lastError);
    };
    connection.onClose(closed);
    connection.onDispose(closed);
    connection.listen();
  }

  /** The daemon's initialize result, once initialize has succeeded. */
  get initializeResult(): InitializeResult | undefined {
    return this.initResult;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Why the connection closed, where the transport said (the bridge
   * names a stopped daemon); undefined while it is open. */
  get closeReason(): string | undefined {
    return this.closed ? this.lastError : undefined;
  }

  /** Sends initialize (asking for UTF-16 positions, which is what JavaScript
   * strings and Slate offsets count) and then initialized. */
  async initialize(options: InitializeOptions = {}): Promise<InitializeResult> {
    const params: InitializeParams = {
      processId: options.processId !== undefined ? options.processId : defaultProcessId(),
      clientInfo: { name: options.clientName ?? 'nib-editor-extension', version: '0.1.0' },
      rootUri: null,
      capabilities: {
        general: { positionEncodings: ['utf-16'] },
        window: { workDoneProgress: true, showMessage: {} },
        workspace: { applyEdit: true, workspaceEdit: { documentChanges: true } },
        textDocument: { synchronization: { dynamicRegistration: false }, inlineCompletion: { dynamicRegistration: false } },
      },
    };
    if (options.settings) params.initializationOptions = options.settings;
    const result = await this.connection.sendRequest<InitializeResult>(Method.initialize, params);
    const encoding = result.capabilities?.positionEncoding ?? 'utf-16';
    if (encoding !== 'utf-16') {
      // Every offset the extension computes is a UTF-16 offset; converting
      // on the fly is not worth it when the protocol lets us insist.
      throw new Error(`nib: the daemon chose position encoding ${encoding}, but this client only speaks utf-16`);
    }
    await this.connection.sendNotification(Method.initialized, {});
    this.initResult = result;
    return result;
  }

  /** Sets who answers workspace/applyEdit (the Slate plugin, or the bridge). */
  setApplyEditHandler(handler: ApplyEditHandler | undefined): void {
    this.applyEditHandler = handler;
  }

  /** Listens to the daemon's work-done progress (the model load). Progress
   * already under way is replayed first, so a late listener starts from its
   * begin. */
  onWorkDoneProgress(listener: WorkDoneListener): Disposable {
    for (const [token, values] of this.activeWorkDone) for (const value of values) listener(token, value);
    this.workDoneListeners.add(listener);
    return { dispose: () => this.workDoneListeners.delete(listener) };
  }

  onMessage(listener: MessageListener): Disposable {
    this.messageListeners.add(listener);
    return { dispose: () => this.messageListeners.delete(listener) };
  }

  /** Listens to textDocument/publishDiagnostics (checking's results, for
   * every document: filter by `params.uri`). The client announces no pull
   * diagnostics, so the daemon pushes them. */
  onDiagnostics(listener: DiagnosticsListener): Disposable {
    this.diagnosticsListeners.add(listener);
    return { dispose: () => this.diagnosticsListeners.delete(listener) };
  }

  /** Calls `listener` once the connection has closed, with the reason
   * the transport gave, if any (the bridge says its daemon stopped). */
  onClose(listener: (reason: string | undefined) => void): Disposable {
    this.closeListeners.add(listener);
    return { dispose: () => this.closeListeners.delete(listener) };
  }

  didOpen(uri: string, text: string, version: number, languageId = 'plaintext'): Promise<void> {
    return this.connection.sendNotification(Method.didOpen, { textDocument: { uri, languageId, version, text } });
  }

  didChange(uri: string, version: number, contentChanges: TextDocumentContentChangeEvent[]): Promise<void> {
    return this.connection.sendNotification(Method.didChange, { textDocument: { uri, version }, contentChanges });
  }

  didClose(uri: string): Promise<void> {
    return this.connection.sendNotification(Method.didClose, { textDocument: { uri } });
  }

  didChangeConfiguration(settings: NibSettings): Promise<void> {
    const params: DidChangeConfigurationParams = { settings: { nib: settings } };
    return this.connection.sendNotification(Method.didChangeConfiguration, params);
  }

  inlineCompletion(params: InlineCompletionParams, options: RequestOptions = {}): Promise<InlineCompletionList> {
    return this.request<InlineCompletionList>(Method.inlineCompletion, params, options.signal);
  }

  complete(params: NibCompleteParams, options: StreamOptions = {}): Promise<NibCompleteResult> {
    return this.streamed<NibCompleteResult>(Method.complete, params, options);
  }

  rewrite(params: NibRewriteParams, options: StreamOptions = {}): Promise<NibRewriteResult> {
    return this.streamed<NibRewriteResult>(Method.rewrite, params, options);
  }

  codeActions(params: CodeActionParams, options: RequestOptions = {}): Promise<CodeAction[] | null> {
    return this.request<CodeAction[] | null>(Method.codeAction, params, options.signal);
  }

  /** Runs nib.rewrite; the daemon applies the result via workspace/applyEdit. */
  executeRewrite(args: NibRewriteCommandArguments, options: RequestOptions = {}): Promise<NibRewriteCommandResult> {
    return this.request<NibRewriteCommandResult>(Method.executeCommand, { command: RewriteCommand, arguments: [args] }, options.signal);
  }

  /** nib.ignoreSentence: the daemon stops flagging `sentence`, in every
   * document, and publishes the diagnostics again without it. */
  async ignoreSentence(sentence: string, options: RequestOptions = {}): Promise<void> {
    const args: NibIgnoreSentenceArguments = { sentence };
    await this.request<unknown>(Method.executeCommand, { command: IgnoreSentenceCommand, arguments: [args] }, options.signal);
  }

  /** nib.ignoreInDocument: the daemon stops proposing `old` → `new` in the
   * document `uri`, and publishes its diagnostics again without it. */
  async ignoreInDocument(uri: string, old: string, replacement: string, options: RequestOptions = {}): Promise<void> {
    const args: NibIgnoreInDocumentArguments = { textDocument: { uri }, old, new: replacement };
    await this.request<unknown>(Method.executeCommand, { command: IgnoreInDocumentCommand, arguments: [args] }, options.signal);
  }

  stats(options: RequestOptions = {}): Promise<NibStats> {
    return this.request<NibStats>(Method.stats, undefined, options.signal);
  }

  /** shutdown then exit, as the LSP lifecycle asks; the daemon exits. */
  async shutdown(): Promise<void> {
    await this.connection.sendRequest(Method.shutdown);
    await this.connection.sendNotification(Method.exit);
  }

  dispose(): void {
    this.connection.dispose();
  }

  private async request<R>(method: string, params: unknown, signal: AbortSignal | undefined): Promise<R> {
    if (signal?.aborted) throw abortError();
    const { token, dispose } = tokenFromSignal(signal);
    try {
      // vscode-jsonrpc reads a trailing token argument by type, so an
      // undefined params or token must be left out, not passed.
      const args: unknown[] = params === undefined ? [] : [params];
      if (token) args.push(token);
      return await this.connection.sendRequest<R>(method, ...args);
    } finally {
      dispose();
    }
  }

  private async streamed<R>(method: string, params: object, options: StreamOptions): Promise<R> {
    const onPartial = options.onPartial;
    if (!onPartial) return this.request<R>(method, params, options.signal);
    const token = `nib-partial-${++this.nextToken}`;
    const subscription = this.connection.onProgress(partialResult, token, onPartial);
    try {
      return await this.request<R>(method, { ...params, partialResultToken: token }, options.signal);
    } finally {
      subscription.dispose();
    }
  }

  private followWorkDone(token: ProgressToken): void {
    const subscription = this.connection.onProgress(workDone, token, (value) => {
      if (value.kind === 'begin') this.activeWorkDone.set(token, [value]);
      else if (value.kind === 'report') this.activeWorkDone.set(token, [...(this.activeWorkDone.get(token) ?? []).slice(0, 1), value]);
      else {
        this.activeWorkDone.delete(token);
        subscription.dispose();
      }
      for (const listener of this.workDoneListeners) listener(token, value);
    });
  }

  private emitMessage(params: ShowMessageParams, kind: 'show' | 'log'): void {
    for (const listener of this.messageListeners) listener(params, kind);
  }
}

function defaultProcessId(): number | null {
  return typeof process !== 'undefined' && typeof process.pid === 'number' ? process.pid : null;
}
