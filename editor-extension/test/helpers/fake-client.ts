// A NibPluginClient that keeps the daemon's side of the document as a plain
// string (replaying every didChange strictly) and lets tests answer the
// completion and rewrite requests by hand.
import { ResponseError } from 'vscode-jsonrpc';
import type { Disposable } from 'vscode-jsonrpc';
import type { ApplyEditHandler, DiagnosticsListener, RequestOptions, StreamOptions } from '../../src/client/nib-client';
import { applyContentChanges } from '../../src/mapping/plain-text';
import {
  ErrorCode,
  type NibCompleteParams,
  type NibCompleteResult,
  type NibRewriteParams,
  type NibRewriteResult,
  type PublishDiagnosticsParams,
  type TextDocumentContentChangeEvent,
} from '../../src/protocol';
import type { NibPluginClient } from '../../src/slate/types';

interface Pending<P, R, O> {
  params: P;
  options: O;
  aborted: boolean;
  resolve(result: R): void;
  reject(err: unknown): void;
}

export class FakeClient implements NibPluginClient {
  text = '';
  version = 0;
  open = false;
  readonly changes: { version: number; changes: TextDocumentContentChangeEvent[] }[] = [];
  /** didChange problems: versions not increasing, ranges off the text. */
  readonly errors: string[] = [];
  readonly completions: Pending<NibCompleteParams, NibCompleteResult, StreamOptions>[] = [];
  readonly rewrites: Pending<NibRewriteParams, NibRewriteResult, StreamOptions>[] = [];
  applyEditHandler: ApplyEditHandler | undefined;
  readonly diagnosticsListeners = new Set<DiagnosticsListener>();
  /** nib.ignoreSentence and nib.ignoreInDocument calls, as their arguments. */
  readonly ignores: unknown[] = [];

  didOpen(_uri: string, text: string, version: number): Promise<void> {
    this.text = text;
    this.version = version;
    this.open = true;
    return Promise.resolve();
  }

  didChange(_uri: string, version: number, changes: TextDocumentContentChangeEvent[]): Promise<void> {
    if (version <= this.version) this.errors.push(`version ${version} after ${this.version}`);
    try {
      this.text = applyContentChanges(this.text, changes);
    } catch (err) {
      this.errors.push(String(err));
    }
    this.version = version;
    this.changes.push({ version, changes });
    return Promise.resolve();
  }

  didClose(): Promise<void> {
    this.open = false;
    return Promise.resolve();
  }

  complete(params: NibCompleteParams, options: StreamOptions = {}): Promise<NibCompleteResult> {
    return this.pending(this.completions, params, options);
  }

  rewrite(params: NibRewriteParams, options: StreamOptions = {}): Promise<NibRewriteResult> {
    return this.pending(this.rewrites, params, options);
  }

  setApplyEditHandler(handler: ApplyEditHandler | undefined): void {
    this.applyEditHandler = handler;
  }

  onDiagnostics(listener: DiagnosticsListener): Disposable {
    this.diagnosticsListeners.add(listener);
    return { dispose: () => this.diagnosticsListeners.delete(listener) };
  }

  ignoreSentence(sentence: string): Promise<void> {
    this.ignores.push({ sentence });
    return Promise.resolve();
  }

  ignoreInDocument(uri: string, old: string, replacement: string): Promise<void> {
    this.ignores.push({ textDocument: { uri }, old, new: replacement });
    return Promise.resolve();
  }

  /** Delivers textDocument/publishDiagnostics as the daemon would. */
  publishDiagnostics(params: PublishDiagnosticsParams): void {
    for (const listener of this.diagnosticsListeners) listener(params);
  }

  /** The latest completion request, answered with `text`. */
  answerCompletion(text: string): void {
    this.latestCompletion().resolve({ items: [{ text, tokens: 1, finish: 'eos' }], cached: 'none' });
  }

  /** Streams `delta` as the latest completion's next piece. */
  streamCompletion(delta: string): void {
    const { onPartial } = this.latestCompletion().options;
    if (!onPartial) throw new Error('the completion request has no partial-result listener');
    onPartial({ index: 0, delta });
  }

  private latestCompletion(): Pending<NibCompleteParams, NibCompleteResult, StreamOptions> {
    const last = this.completions[this.completions.length - 1];
    if (!last) throw new Error('no completion request');
    return last;
  }

  private pending<P, R, O extends RequestOptions>(list: Pending<P, R, O>[], params: P, options: O): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const entry: Pending<P, R, O> = { params, options, aborted: false, resolve, reject };
      list.push(entry);
      options.signal?.addEventListener('abort', () => {
        entry.aborted = true;
        reject(new ResponseError(ErrorCode.RequestCancelled, 'cancelled'));
      });
    });
  }
}
