import { CancellationTokenSource, ProgressType, ResponseError, type Disposable } from 'vscode-jsonrpc';
import type { NibClient } from '../client/nib-client';
import { ErrorCode, Method, type ApplyWorkspaceEditParams, type ApplyWorkspaceEditResult } from '../protocol';

/** Requests a page may send; anything else is answered MethodNotFound. In
 * particular a page cannot change the daemon's settings (and so the model
 * path it loads): that belongs to whoever started the bridge. The one
 * setting a page may send, check.enabled, comes as a notification. */
const forwardedRequests = new Set<string>([
  Method.inlineCompletion,
  Method.complete,
  Method.rewrite,
  Method.stats,
  Method.codeAction,
  Method.executeCommand,
]);

type Id = number | string;

interface JsonRpcMessage {
  jsonrpc?: unknown;
  id?: Id | null;
  method?: unknown;
  params?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/** What a session needs from the bridge that owns it. */
export interface SessionHost {
  client: NibClient;
  /** Claims a document for this session; false if another session owns it. */
  claim(uri: string, session: BridgeSession): boolean;
  release(uri: string, session: BridgeSession): void;
  log(line: string): void;
}

const anyProgress = new ProgressType<unknown>();

/**
 * BridgeSession relays one page's JSON-RPC messages to the shared daemon
 * connection and back. The daemon is initialized once by the bridge and
 * outlives pages, so the session answers initialize and shutdown itself,
 * rewrites progress tokens so that two pages cannot collide, maps
 * $/cancelRequest onto the forwarded request, and closes the page's
 * documents when it goes away.
 */
export class BridgeSession {
  readonly id: number;
  private readonly pending = new Map<Id, CancellationTokenSource>();
  private readonly outgoing = new Map<string, (result: ApplyWorkspaceEditResult) => void>();
  private readonly documents = new Set<string>();
  private nextOutgoing = 0;
  private nextToken = 0;
  private closed = false;

  constructor(
    id: number,
    private readonly host: SessionHost,
    private readonly sendText: (text: string) => void,
    private readonly closeSocket: () => void,
  ) {
    this.id = id;
  }

  owns(uri: string): boolean {
    return this.documents.has(uri);
  }

  /** Handles one text frame from the page. */
  handleFrame(text: string): void {
    let message: JsonRpcMessage;
    try {
      message = JSON.parse(text) as JsonRpcMessage;
    } catch {
      this.send({ jsonrpc: '2.0', id: null, error: { code: ErrorCode.ParseError, message: 'bridge: malformed JSON' } });
      return;
    }
    if (typeof message !== 'object' || message === null || message.jsonrpc !== '2.0') {
      this.send({ jsonrpc: '2.0', id: null, error: { code: ErrorCode.InvalidRequest, message: 'bridge: not a JSON-RPC 2.0 message' } });
      return;
    }
    const hasId = message.id !== undefined && message.id !== null;
    if (typeof message.method === 'string') {
      if (hasId) void this.handleRequest(message.id as Id, message.method, message.params);
      else this.handleNotification(message.method, message.params);
    } else if (hasId) {
      this.handleResponse(String(message.id), message);
    }
  }

  /** Sends a server-to-client request to the page and waits for its answer. */
  applyEdit(params: ApplyWorkspaceEditParams, timeoutMs = 30_000): Promise<ApplyWorkspaceEditResult> {
    const id = `bridge-${this.id}-${++this.nextOutgoing}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.outgoing.delete(id);
        resolve({ applied: false, failureReason: 'bridge: the page did not answer workspace/applyEdit' });
      }, timeoutMs);
      this.outgoing.set(id, (result) => {
        clearTimeout(timer);
        resolve(result);
      });
      this.send({ jsonrpc: '2.0', id, method: Method.applyEdit, params });
    });
  }

  /** Sends a notification (progress, messages) to the page. */
  notify(method: string, params: unknown): void {
    this.send({ jsonrpc: '2.0', method, params });
  }

  /** Sends a request whose answer does not matter (work-done create). */
  requestIgnoringAnswer(method: string, params: unknown): void {
    this.send({ jsonrpc: '2.0', id: `bridge-${this.id}-${++this.nextOutgoing}`, method, params });
  }

  /** The page went away: cancel its requests and close its documents. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const source of this.pending.values()) source.cancel();
    for (const resolve of this.outgoing.values()) resolve({ applied: false, failureReason: 'bridge: the page disconnected' });
    this.outgoing.clear();
    this.closeDocuments();
  }

  private closeDocuments(): void {
    for (const uri of this.documents) {
      this.host.release(uri, this);
      ignoringFailure(() => this.host.client.didClose(uri));
    }
    this.documents.clear();
  }

  private async handleRequest(id: Id, method: string, params: unknown): Promise<void> {
    if (method === Method.initialize) {
      const result = this.host.client.initializeResult;
      if (result) this.reply(id, result);
      else this.replyError(id, ErrorCode.ServerNotInitialized, 'bridge: the daemon is not initialized');
      return;
    }
    if (method === Method.shutdown) {
      // The daemon is shared and stays up; only this page's documents go.
      this.closeDocuments();
      this.reply(id, null);
      return;
    }
    if (!forwardedRequests.has(method)) {
      this.replyError(id, ErrorCode.MethodNotFound, `bridge: method ${method} is not available to pages`);
      return;
    }
    const uri = documentUriOf(params);
    if (uri !== undefined && !this.documents.has(uri)) {
      this.replyError(id, ErrorCode.InvalidParams, `bridge: textDocument ${uri} is not open on this connection`);
      return;
    }
    const source = new CancellationTokenSource();
    this.pending.set(id, source);
    const subscriptions: Disposable[] = [];
    const forwarded = this.rewriteTokens(params, subscriptions);
    try {
      const args: unknown[] = forwarded === undefined ? [source.token] : [forwarded, source.token];
      const result = await this.host.client.connection.sendRequest<unknown>(method, ...args);
      this.reply(id, result ?? null);
    } catch (err) {
      if (err instanceof ResponseError) this.replyError(id, err.code, err.message, err.data);
      else this.replyError(id, ErrorCode.RequestFailed, `bridge: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.pending.delete(id);
      for (const s of subscriptions) s.dispose();
      source.dispose();
    }
  }

  /** Replaces the page's progress tokens by ones unique to this session and
   * relays the daemon's $/progress for them under the page's own token. */
  private rewriteTokens(params: unknown, subscriptions: Disposable[]): unknown {
    if (typeof params !== 'object' || params === null || Array.isArray(params)) return params;
    const copy: Record<string, unknown> = { ...(params as Record<string, unknown>) };
    for (const key of ['partialResultToken', 'workDoneToken']) {
      const original = copy[key];
      if (typeof original !== 'string' && typeof original !== 'number') continue;
      const upstream = `bridge-${this.id}-progress-${++this.nextToken}`;
      copy[key] = upstream;
      subscriptions.push(
        this.host.client.connection.onProgress(anyProgress, upstream, (value) => this.notify(Method.progress, { token: original, value })),
      );
    }
    return copy;
  }

  private handleNotification(method: string, params: unknown): void {
    switch (method) {
      case Method.cancelRequest: {
        const id = (params as { id?: Id } | undefined)?.id;
        if (id !== undefined) this.pending.get(id)?.cancel();
        return;
      }
      case Method.initialized:
        return;
      case Method.exit:
        this.close();
        this.closeSocket();
        return;
      case Method.didOpen:
      case Method.didChange:
      case Method.didClose:
        this.documentNotification(method, params);
        return;
      case Method.didChangeConfiguration:
        this.configuration(params);
        return;
      default:
        this.host.log(`bridge: session ${this.id}: dropped notification ${method}`);
    }
  }

  /** A page may switch checking on or off, and change nothing else: the
   * settings are the daemon's, shared by every page. */
  private configuration(params: unknown): void {
    const settings = (params as { settings?: unknown } | undefined)?.settings;
    const nib = isObject(settings) && 'nib' in settings ? settings.nib : settings;
    const check = isObject(nib) && Object.keys(nib).length === 1 ? nib.check : undefined;
    if (!isObject(check) || Object.keys(check).length !== 1 || typeof check.enabled !== 'boolean') {
      this.notify(Method.showMessage, { type: 1, message: 'bridge: a page may only switch checking on or off ({"check": {"enabled": true|false}})' });
      return;
    }
    ignoringFailure(() => this.host.client.didChangeConfiguration({ check: { enabled: check.enabled as boolean } }));
  }

  private documentNotification(method: string, params: unknown): void {
    const uri = (params as { textDocument?: { uri?: unknown } } | undefined)?.textDocument?.uri;
    if (typeof uri !== 'string') {
      this.host.log(`bridge: session ${this.id}: ${method} without textDocument.uri`);
      return;
    }
    if (method === Method.didOpen) {
      if (!this.host.claim(uri, this)) {
        this.notify(Method.showMessage, { type: 1, message: `bridge: ${uri} is open in another page` });
        return;
      }
      this.documents.add(uri);
    } else if (!this.documents.has(uri)) {
      this.host.log(`bridge: session ${this.id}: ${method} for ${uri}, which it did not open`);
      return;
    }
    if (method === Method.didClose) {
      this.documents.delete(uri);
      this.host.release(uri, this);
    }
    ignoringFailure(() => this.host.client.connection.sendNotification(method, params));
  }

  private handleResponse(id: string, message: JsonRpcMessage): void {
    const resolve = this.outgoing.get(id);
    if (!resolve) return;
    this.outgoing.delete(id);
    if (message.error) resolve({ applied: false, failureReason: message.error.message });
    else resolve((message.result as ApplyWorkspaceEditResult | null) ?? { applied: false });
  }

  private reply(id: Id, result: unknown): void {
    this.send({ jsonrpc: '2.0', id, result });
  }

  private replyError(id: Id, code: number, message: string, data?: unknown): void {
    this.send({ jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } });
  }

  private send(message: object): void {
    if (!this.closed) this.sendText(JSON.stringify(message));
  }
}

/** The document a request is about: textDocument.uri, or that of the first
 * argument of workspace/executeCommand. */
function documentUriOf(params: unknown): string | undefined {
  if (typeof params !== 'object' || params === null) return undefined;
  const direct = (params as { textDocument?: { uri?: unknown } }).textDocument?.uri;
  if (typeof direct === 'string') return direct;
  const args = (params as { arguments?: unknown }).arguments;
  if (Array.isArray(args)) {
    const nested = (args[0] as { textDocument?: { uri?: unknown } } | undefined)?.textDocument?.uri;
    if (typeof nested === 'string') return nested;
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sends a notification to the daemon where failing means only that the
 * daemon is gone (its connection throws once closed), which the bridge
 * learns from the connection's close. */
function ignoringFailure(send: () => Promise<void>): void {
  try {
    send().catch(() => {});
  } catch {
    // See above: the close is handled elsewhere.
  }
}
