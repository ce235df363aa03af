// A stand-in for the nib daemon that implements PROTOCOL.md's methods with
// deterministic text instead of a model (checking: a small typo table), so the client, the bridge and the
// browser tests can run before (and without) the real daemon. It is strict
// where the real one must be: versions must increase, change ranges must
// lie inside the document, and a violation is reported with
// window/showMessage, which the demo shows and the browser tests check for.
import { CancellationToken, ProgressType, ResponseError, type MessageConnection } from 'vscode-jsonrpc';
import { applyContentChanges, minimalEdit, offsetAt, positionAt } from '../../src/mapping/plain-text';
import {
  ErrorCode,
  IgnoreInDocumentCommand,
  IgnoreSentenceCommand,
  Method,
  RewriteCommand,
  type ApplyWorkspaceEditResult,
  type CodeAction,
  type CodeActionParams,
  type DidChangeConfigurationParams,
  type DidChangeTextDocumentParams,
  type DidCloseTextDocumentParams,
  type DidOpenTextDocumentParams,
  type ExecuteCommandParams,
  type InitializeParams,
  type InitializeResult,
  type InlineCompletionList,
  type InlineCompletionParams,
  type NibCheckDiagnostic,
  type NibCompleteParams,
  type NibIgnoreInDocumentArguments,
  type NibIgnoreSentenceArguments,
  type NibCompleteResult,
  type NibPartialResult,
  type NibRewriteCommandArguments,
  type NibRewriteParams,
  type NibRewriteResult,
  type NibSettings,
  type NibStats,
  type Position,
  type PublishDiagnosticsParams,
  type Range,
  type WorkDoneProgressValue,
  type WorkspaceEdit,
} from '../../src/protocol';

export interface FakeNibOptions {
  /** Delay between streamed tokens. */
  tokenDelayMs?: number;
  /** How long "loading the model" takes after initialized. */
  loadDelayMs?: number;
  /** Called on the exit notification with the LSP exit code. */
  onExit?: (code: number) => void;
}

export interface FakeDocument {
  version: number;
  text: string;
  /** Changes (old + "\0" + new) nib.ignoreInDocument turned off here. */
  ignored: Set<string>;
  checkTimer?: ReturnType<typeof setTimeout>;
}

/** What the fake observed, for tests to assert on. */
export interface FakeNib {
  documents: Map<string, FakeDocument>;
  /** Every notification and request received, in order. */
  received: { method: string; params: unknown }[];
  /** Protocol violations it refused (bad version, bad range). */
  errors: string[];
  /** Requests that ended in -32800. */
  cancelled: string[];
}

const partial = new ProgressType<NibPartialResult>();
const workDone = new ProgressType<WorkDoneProgressValue>();

export const fakeInstructions = [
  { id: 'grammar', title: 'Fix grammar', instruction: 'Fix the grammar' },
  { id: 'formal', title: 'More formal', instruction: 'Make it more formal' },
  { id: 'simpler', title: 'Simpler', instruction: 'Make it simpler' },
  { id: 'shorter', title: 'Shorter', instruction: 'Make it shorter' },
];

/** The fake "model": a continuation that names the last word before the
 * cursor, so a test can tell that the fake saw the right text. */
export function fakeSuggestion(before: string): string {
  const last = /(\S+)\s*$/u.exec(before)?.[1] ?? 'nothing';
  const separator = before === '' || /\s$/u.test(before) ? '' : ' ';
  return `${separator}and more after ${last}.`;
}

/** The fake rewrite of `text` under `instruction`: alternative 0 follows
 * the instruction in a recognisable way, later ones add a marker. */
export function fakeRewrite(text: string, instruction: string, index: number): string {
  const lower = instruction.toLowerCase();
  let result: string;
  if (lower.includes('grammar')) {
    result = text.replace(/\bi\b/g, 'I').replace(/ {2,}/g, ' ').replace(/(^|[.!?]\s+)(\p{Ll})/gu, (_m, p: string, c: string) => p + c.toUpperCase());
    if (/\p{L}$/u.test(result)) result += '.';
  } else if (lower.includes('formal')) {
    result = text.replace(/\bdon't\b/gi, 'do not').replace(/\bcan't\b/gi, 'cannot').replace(/\bit's\b/gi, 'it is').replace(/\bhi\b/gi, 'Hello');
    if (result === text) result = `Kindly note: ${text}`;
  } else if (lower.includes('simpl')) {
    result = text.replace(/\butilize\b/gi, 'use').replace(/\bapproximately\b/gi, 'about').replace(/\bin order to\b/gi, 'to');
    if (result === text) result = text.split(/\s+/u).filter((w) => w.length <= 8).join(' ');
  } else if (lower.includes('short')) {
    result = text.replace(/\b(very|really|just|actually|basically) /gi, '');
    if (result === text) result = text.split(/\s+/u).slice(0, Math.max(1, Math.ceil(text.split(/\s+/u).length / 2))).join(' ');
  } else {
    result = text.toUpperCase();
  }
  return index === 0 ? result : `${result} (v${index + 1})`;
}

/** The fake's checking "model": these words are flagged, with these
 * corrections (a capital kept). */
export const fakeTypos: Record<string, string> = { teh: 'the', recieve: 'receive', dont: "don't" };

/** One flagged word: offsets into the text, and the sentence holding it. */
export interface FakeFinding {
  start: number;
  end: number;
  old: string;
  new: string;
  sentence: string;
  correction: string;
}

/** The typos of `text`, sentence by sentence as PROTOCOL.md splits them
 * (at . ! ? … followed by space, and at line breaks). */
export function fakeCheck(text: string): FakeFinding[] {
  const findings: FakeFinding[] = [];
  const sentence = /[^\n]*?(?:[.!?…](?=\s)|(?=\n)|$)/gu;
  for (let match = sentence.exec(text); match; match = sentence.exec(text)) {
    if (match[0] === '') {
      sentence.lastIndex++;
      if (sentence.lastIndex > text.length) break;
      continue;
    }
    const leading = /^\s*/u.exec(match[0])![0].length;
    const body = match[0].slice(leading);
    const start = match.index + leading;
    const fix = (word: string) => {
      const fixed = fakeTypos[word.toLowerCase()]!;
      return word[0] === word[0]!.toUpperCase() ? fixed[0]!.toUpperCase() + fixed.slice(1) : fixed;
    };
    const typo = new RegExp(`(?<![\\p{L}'])(${Object.keys(fakeTypos).join('|')})(?![\\p{L}'])`, 'giu');
    const correction = body.replace(typo, fix);
    for (const word of body.matchAll(typo)) {
      findings.push({ start: start + word.index, end: start + word.index + word[0].length, old: word[0], new: fix(word[0]), sentence: body, correction });
    }
  }
  return findings;
}

/** Splits text into streamed "tokens": each word with the space before it. */
function tokensOf(text: string): string[] {
  return text.match(/\s*\S+|\s+$/gu) ?? [];
}

export function serveFakeNib(connection: MessageConnection, options: FakeNibOptions = {}): FakeNib {
  const tokenDelayMs = options.tokenDelayMs ?? 10;
  const loadDelayMs = options.loadDelayMs ?? 30;
  const fake: FakeNib = { documents: new Map(), received: [], errors: [], cancelled: [] };
  let state: 'new' | 'running' | 'shutdown' = 'new';
  let clientCapabilities: InitializeParams['capabilities'] = {};
  let modelState: 'none' | 'loading' | 'ready' = 'none';
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const stats = { served: 0, cancelled: 0, failed: 0 };
  const checkStats = { checked: 0, cached: 0, reported: 0, ignored: 0, pending: 0 };
  let checkSettings = { enabled: false, debounceMs: 750, severity: 'information' };
  /** Sentences nib.ignoreSentence turned off, in every document. */
  const ignoredSentences = new Set<string>();

  const sleep = (ms: number, token: CancellationToken) =>
    new Promise<void>((resolve, reject) => {
      if (token.isCancellationRequested) return reject(cancelledError());
      const timer = setTimeout(() => {
        subscription.dispose();
        resolve();
      }, ms);
      const subscription = token.onCancellationRequested(() => {
        clearTimeout(timer);
        reject(cancelledError());
      });
    });

  const documentOf = (uri: string): FakeDocument => {
    const doc = fake.documents.get(uri);
    if (!doc) throw new ResponseError(ErrorCode.InvalidParams, `textDocument.uri: ${uri} is not open`);
    return doc;
  };

  const offsetOf = (doc: FakeDocument, position: Position, field: string): number => {
    try {
      return offsetAt(doc.text, position);
    } catch (err) {
      throw new ResponseError(ErrorCode.InvalidParams, `${field}: ${String(err)}`);
    }
  };

  const reportError = (message: string) => {
    fake.errors.push(message);
    quiet(() => connection.sendNotification(Method.showMessage, { type: 1, message: `fake nib: ${message}` }));
  };

  const handlers: Record<string, (params: any, token: CancellationToken) => Promise<unknown> | unknown> = {
    [Method.initialize]: (params: InitializeParams): InitializeResult => {
      if (state !== 'new') throw new ResponseError(ErrorCode.InvalidRequest, 'initialize: already initialized');
      clientCapabilities = params.capabilities ?? {};
      configure(params.initializationOptions);
      const wanted = params.capabilities?.general?.positionEncodings ?? [];
      const encoding = wanted.find((e) => e === 'utf-16' || e === 'utf-8' || e === 'utf-32') ?? 'utf-16';
      state = 'running';
      return {
        capabilities: {
          positionEncoding: encoding,
          textDocumentSync: { openClose: true, change: 2 },
          inlineCompletionProvider: true,
          codeActionProvider: { codeActionKinds: ['quickfix', 'refactor.rewrite'], resolveProvider: false },
          executeCommandProvider: { commands: [RewriteCommand, IgnoreSentenceCommand, IgnoreInDocumentCommand] },
        },
        serverInfo: { name: 'nib', version: '0.1.0-fake' },
      };
    },

    [Method.shutdown]: () => {
      state = 'shutdown';
      return null;
    },

    [Method.inlineCompletion]: async (params: InlineCompletionParams, token): Promise<InlineCompletionList> => {
      await ready;
      const doc = documentOf(params.textDocument.uri);
      const offset = offsetOf(doc, params.position, 'position');
      await sleep(tokenDelayMs, token);
      stats.served++;
      return { items: [{ insertText: fakeSuggestion(doc.text.slice(0, offset)), range: { start: params.position, end: params.position } }] };
    },

    [Method.complete]: async (params: NibCompleteParams, token): Promise<NibCompleteResult> => {
      await ready;
      const doc = documentOf(params.textDocument.uri);
      const n = params.n ?? 1;
      if (!Number.isInteger(n) || n < 1 || n > 8) throw new ResponseError(ErrorCode.InvalidParams, 'n: must be 1..8');
      const before = doc.text.slice(0, offsetOf(doc, params.position, 'position'));
      const maxTokens = params.maxTokens ?? 32;
      const items = [];
      for (let index = 0; index < n; index++) {
        const all = tokensOf(fakeSuggestion(before) + (index > 0 ? ` (${index + 1})` : ''));
        const taken = all.slice(0, maxTokens);
        const progressToken = params.partialResultToken;
        for (const delta of taken) {
          await sleep(tokenDelayMs, token);
          if (progressToken !== undefined) quiet(() => connection.sendProgress(partial, progressToken, { index, delta }));
        }
        items.push({ text: taken.join(''), tokens: taken.length, finish: taken.length < all.length ? ('length' as const) : ('sentence' as const) });
      }
      stats.served++;
      return { items, cached: 'none' };
    },

    [Method.rewrite]: async (params: NibRewriteParams, token): Promise<NibRewriteResult> => {
      await ready;
      const doc = documentOf(params.textDocument.uri);
      if (doc.version !== params.textDocument.version) {
        throw new ResponseError(ErrorCode.ContentModified, `textDocument.version: ${params.textDocument.version}, document is at ${doc.version}`);
      }
      const current = rangeText(doc, params.range);
      if (current === '') throw new ResponseError(ErrorCode.InvalidParams, 'range: empty');
      // A refinement rewrites the given text; edits still start from the range's.
      const source = params.text ?? current;
      const n = params.n ?? 3;
      const alternatives = Array.from({ length: n }, (_, i) => fakeRewrite(source, params.instruction, i));
      // Like the daemon's "diverse" strategy: alternative 0 (greedy) streams
      // token by token, then each other one arrives whole, in order.
      const progressToken = params.partialResultToken;
      const send = (value: NibPartialResult) => {
        if (progressToken !== undefined) quiet(() => connection.sendProgress(partial, progressToken, value));
      };
      for (const delta of tokensOf(alternatives[0]!)) {
        await sleep(tokenDelayMs, token);
        send({ index: 0, delta });
      }
      for (let index = 1; index < alternatives.length; index++) {
        await sleep(tokenDelayMs, token);
        send({ index, delta: alternatives[index]! });
      }
      stats.served++;
      return {
        items: alternatives.map((alt) => {
          const edit = minimalEdit(current, alt, params.range.start);
          return { text: alt, edits: edit ? [edit] : [], tokens: tokensOf(alt).length, finish: 'eos' as const };
        }),
        cached: 'none',
      };
    },

    [Method.codeAction]: (params: CodeActionParams): CodeAction[] => {
      const doc = documentOf(params.textDocument.uri);
      const checks = checkActions(params.textDocument.uri, doc, params);
      if (rangeText(doc, params.range) === '') return checks;
      return [...checks, ...fakeInstructions.map((item) => ({
        title: item.title,
        kind: 'refactor.rewrite',
        command: {
          title: item.title,
          command: RewriteCommand,
          arguments: [{ textDocument: { uri: params.textDocument.uri, version: doc.version }, range: params.range, instruction: item.instruction }],
        },
      }))];
    },

    [Method.executeCommand]: async (params: ExecuteCommandParams) => {
      if (params.command === IgnoreSentenceCommand) {
        const args = params.arguments?.[0] as NibIgnoreSentenceArguments | undefined;
        if (typeof args?.sentence !== 'string' || args.sentence.trim() === '') throw new ResponseError(ErrorCode.InvalidParams, 'arguments[0].sentence: missing');
        ignoredSentences.add(args.sentence);
        for (const uri of fake.documents.keys()) publish(uri);
        return null;
      }
      if (params.command === IgnoreInDocumentCommand) {
        const args = params.arguments?.[0] as NibIgnoreInDocumentArguments | undefined;
        if (typeof args?.textDocument?.uri !== 'string' || typeof args.old !== 'string' || typeof args.new !== 'string') {
          throw new ResponseError(ErrorCode.InvalidParams, 'arguments[0]: want {textDocument: {uri}, old, new}');
        }
        documentOf(args.textDocument.uri).ignored.add(`${args.old}\0${args.new}`);
        publish(args.textDocument.uri);
        return null;
      }
      if (params.command !== RewriteCommand) throw new ResponseError(ErrorCode.InvalidParams, `command: unknown ${params.command}`);
      await ready;
      const args = params.arguments?.[0] as NibRewriteCommandArguments | undefined;
      if (!args) throw new ResponseError(ErrorCode.InvalidParams, 'arguments: missing');
      const doc = documentOf(args.textDocument.uri);
      if (doc.version !== args.textDocument.version) throw new ResponseError(ErrorCode.ContentModified, 'the document changed');
      const text = rangeText(doc, args.range);
      const rewritten = fakeRewrite(text, args.instruction, 0);
      const edit = minimalEdit(text, rewritten, args.range.start);
      if (!edit) return { applied: false, text: rewritten };
      const edit0 = clientCapabilities.workspace?.workspaceEdit?.documentChanges
        ? { documentChanges: [{ textDocument: { uri: args.textDocument.uri, version: doc.version }, edits: [edit] }] }
        : { changes: { [args.textDocument.uri]: [edit] } };
      const result = await connection.sendRequest<ApplyWorkspaceEditResult>(Method.applyEdit, { label: args.instruction, edit: edit0 });
      stats.served++;
      return { applied: result.applied, text: rewritten };
    },

    [Method.stats]: (): NibStats => ({
      model: { name: 'fake', state: modelState, error: '', weightBytes: 0, dtype: 'f32' },
      gpu: { adapter: 'none (fake)', residentBytes: 0 },
      caches: {
        pipelines: { hits: 0, misses: 0, entries: 0, bytes: 0, budgetBytes: 0 },
        encoder: { hits: 0, misses: 0, entries: 0, bytes: 0, budgetBytes: 0 },
        decoder: { hits: 0, misses: 0, entries: 0, bytes: 0, budgetBytes: 0 },
      },
      requests: { served: stats.served, cancelled: stats.cancelled, failed: stats.failed, queued: 0, inFlight: 1, batchLimit: 1, outOfMemory: 0 },
      recent: [],
      process: { goroutines: 0, heapBytes: 0, maxRSSBytes: 0 },
      check: { ...checkStats, pending: [...fake.documents.values()].filter((doc) => doc.checkTimer !== undefined).length },
    }),
  };

  /** Merges the `check` part of settings, as the daemon merges settings. */
  function configure(settings: NibSettings | { nib?: NibSettings } | undefined) {
    const nib = settings && 'nib' in settings ? settings.nib : (settings as NibSettings | undefined);
    const check = nib?.check;
    if (!check) return;
    checkSettings = {
      enabled: check.enabled ?? checkSettings.enabled,
      debounceMs: check.debounceMs ?? checkSettings.debounceMs,
      severity: check.severity ?? checkSettings.severity,
    };
    for (const uri of fake.documents.keys()) {
      if (checkSettings.enabled) scheduleCheck(uri);
      else publish(uri);
    }
  }

  /** The document's diagnostics now (none while checking is off). */
  function diagnosticsOf(uri: string, doc: FakeDocument): NibCheckDiagnostic[] {
    if (!checkSettings.enabled) return [];
    const severity = checkSettings.severity === 'hint' ? 4 : 3;
    return fakeCheck(doc.text)
      .filter((f) => !ignoredSentences.has(f.sentence) && !doc.ignored.has(`${f.old}\0${f.new}`))
      .map((f) => ({
        range: { start: positionAt(doc.text, f.start), end: positionAt(doc.text, f.end) },
        severity,
        code: 'grammar',
        source: 'nib',
        message: `"${f.old}" → "${f.new}"`,
        data: { sentence: f.sentence, correction: f.correction, old: f.old, new: f.new },
      }));
  }

  /** Checks the document once typing has paused for check.debounceMs. */
  function scheduleCheck(uri: string) {
    const doc = fake.documents.get(uri);
    if (!doc || !checkSettings.enabled) return;
    clearTimeout(doc.checkTimer);
    doc.checkTimer = setTimeout(() => {
      doc.checkTimer = undefined;
      checkStats.checked++;
      publish(uri);
    }, checkSettings.debounceMs);
  }

  function publish(uri: string) {
    const doc = fake.documents.get(uri);
    if (!doc) return;
    const diagnostics = diagnosticsOf(uri, doc);
    checkStats.reported += diagnostics.length;
    const params: PublishDiagnosticsParams = { uri, version: doc.version, diagnostics };
    quiet(() => connection.sendNotification(Method.publishDiagnostics, params));
  }

  /** Per diagnostic in the request's context (else each held one touching
   * the range): the fix, while its words stand, then the two ignores. */
  function checkActions(uri: string, doc: FakeDocument, params: CodeActionParams): CodeAction[] {
    const sent = params.context?.diagnostics?.filter((d): d is NibCheckDiagnostic => d.source === 'nib' && typeof d.data === 'object' && d.data !== null) ?? [];
    const diagnostics = sent.length > 0 ? sent : diagnosticsOf(uri, doc).filter((d) => touches(d.range, params.range));
    return diagnostics.flatMap((d): CodeAction[] => {
      const { old, new: replacement, sentence } = d.data;
      const actions: CodeAction[] = [];
      let current: string | undefined;
      try {
        current = rangeText(doc, d.range);
      } catch {
        current = undefined;
      }
      if (current === old) {
        const edit = { range: d.range, newText: replacement };
        const workspaceEdit: WorkspaceEdit = clientCapabilities.workspace?.workspaceEdit?.documentChanges
          ? { documentChanges: [{ textDocument: { uri, version: doc.version }, edits: [edit] }] }
          : { changes: { [uri]: [edit] } };
        actions.push({ title: `Change to "${replacement}"`, kind: 'quickfix', diagnostics: [d], isPreferred: true, edit: workspaceEdit });
      }
      const ignoreSentence: NibIgnoreSentenceArguments = { sentence };
      const ignoreInDocument: NibIgnoreInDocumentArguments = { textDocument: { uri }, old, new: replacement };
      actions.push(
        { title: 'Ignore this sentence', kind: 'quickfix', diagnostics: [d], command: { title: 'Ignore this sentence', command: IgnoreSentenceCommand, arguments: [ignoreSentence] } },
        {
          title: `Ignore ${d.message} in this document`,
          kind: 'quickfix',
          diagnostics: [d],
          command: { title: 'Ignore in this document', command: IgnoreInDocumentCommand, arguments: [ignoreInDocument] },
        },
      );
      return actions;
    });
  }

  function rangeText(doc: FakeDocument, range: Range): string {
    const start = offsetOf(doc, range.start, 'range.start');
    const end = offsetOf(doc, range.end, 'range.end');
    if (end < start) throw new ResponseError(ErrorCode.InvalidParams, 'range: ends before it starts');
    return doc.text.slice(start, end);
  }

  connection.onRequest(async (method, params, token) => {
    fake.received.push({ method, params });
    if (state === 'new' && method !== Method.initialize) {
      throw new ResponseError(ErrorCode.ServerNotInitialized, `${method}: server not initialized`);
    }
    if (state === 'shutdown') throw new ResponseError(ErrorCode.InvalidRequest, `${method}: server is shut down`);
    const handler = handlers[method];
    if (!handler) throw new ResponseError(ErrorCode.MethodNotFound, `${method}: unknown method`);
    try {
      return await handler(params, token);
    } catch (err) {
      if (err instanceof ResponseError && err.code === ErrorCode.RequestCancelled) {
        stats.cancelled++;
        fake.cancelled.push(method);
      } else stats.failed++;
      throw err;
    }
  });

  connection.onNotification((method, params) => {
    fake.received.push({ method, params });
    switch (method) {
      case Method.initialized:
        startLoading().catch(() => {});
        return;
      case Method.exit:
        options.onExit?.(state === 'shutdown' ? 0 : 1);
        return;
      case Method.didOpen: {
        const { textDocument } = params as DidOpenTextDocumentParams;
        fake.documents.set(textDocument.uri, { version: textDocument.version, text: textDocument.text, ignored: new Set() });
        scheduleCheck(textDocument.uri);
        return;
      }
      case Method.didChangeConfiguration:
        configure((params as DidChangeConfigurationParams).settings);
        return;
      case Method.didChange: {
        const { textDocument, contentChanges } = params as DidChangeTextDocumentParams;
        const doc = fake.documents.get(textDocument.uri);
        if (!doc) return reportError(`didChange for ${textDocument.uri}, which is not open`);
        if (textDocument.version <= doc.version) {
          return reportError(`didChange version ${textDocument.version} after ${doc.version}; ignored`);
        }
        try {
          doc.text = applyContentChanges(doc.text, contentChanges);
          doc.version = textDocument.version;
          scheduleCheck(textDocument.uri);
        } catch (err) {
          reportError(`didChange ${textDocument.version}: ${String(err)}; ignored`);
        }
        return;
      }
      case Method.didClose: {
        const { uri } = (params as DidCloseTextDocumentParams).textDocument;
        clearTimeout(fake.documents.get(uri)?.checkTimer);
        fake.documents.delete(uri);
        // As the daemon does: a closed document's diagnostics are cleared.
        quiet(() => connection.sendNotification(Method.publishDiagnostics, { uri, diagnostics: [] }));
        return;
      }
    }
  });

  async function startLoading() {
    modelState = 'loading';
    const token = 'nib-load-1';
    if (clientCapabilities.window?.workDoneProgress) {
      await connection.sendRequest(Method.workDoneProgressCreate, { token }).catch(() => undefined);
      quiet(() => connection.sendProgress(workDone, token, { kind: 'begin', title: 'nib: loading model', percentage: 0 }));
      await new Promise((resolve) => setTimeout(resolve, loadDelayMs / 2));
      quiet(() => connection.sendProgress(workDone, token, { kind: 'report', message: 'weights', percentage: 50 }));
      await new Promise((resolve) => setTimeout(resolve, loadDelayMs / 2));
      quiet(() => connection.sendProgress(workDone, token, { kind: 'end', message: 'ready' }));
    } else {
      await new Promise((resolve) => setTimeout(resolve, loadDelayMs));
    }
    modelState = 'ready';
    markReady();
  }

  return fake;
}

/** Whether two ranges overlap or meet. */
function touches(a: Range, b: Range): boolean {
  const before = (p: Position, q: Position) => p.line < q.line || (p.line === q.line && p.character < q.character);
  return !before(a.end, b.start) && !before(b.end, a.start);
}

/** Sends that fail once the connection is gone matter to nobody. */
function quiet(send: () => Promise<void>): void {
  try {
    send().catch(() => {});
  } catch {
    // Disposed connections throw before returning a promise.
  }
}

function cancelledError(): ResponseError<void> {
  return new ResponseError(ErrorCode.RequestCancelled, 'request cancelled');
}
