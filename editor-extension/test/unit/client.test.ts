import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { NibClient } from '../../src/client/nib-client';
import { errorCode, isCancelled } from '../../src/client/errors';
import { applyTextEdits } from '../../src/mapping/plain-text';
import { startNib } from '../../src/node/daemon';
import { applyPartial, ErrorCode, type ApplyWorkspaceEditParams, type NibPartialResult, type PublishDiagnosticsParams, type WorkDoneProgressValue } from '../../src/protocol';
import { fakeInstructions, fakeRewrite, fakeSuggestion } from '../fake-server/fake-nib';
import { eventually, fakePair, type FakePair } from '../helpers/fake-pair';

const uri = 'untitled:client-test';
let pair: FakePair | undefined;

afterEach(() => {
  pair?.dispose();
  pair = undefined;
});

async function ready(options = {}) {
  pair = fakePair(options);
  const progress: WorkDoneProgressValue[] = [];
  pair.client.onWorkDoneProgress((_token, value) => progress.push(value));
  const result = await pair.client.initialize({ clientName: 'test' });
  return { ...pair, result, progress };
}

describe('NibClient lifecycle', () => {
  it('asks for UTF-16 and reports the model load through work-done progress', async () => {
    const { fake, result, progress } = await ready();
    const init = fake.received.find((m) => m.method === 'initialize')!.params as {
      capabilities: { general: { positionEncodings: string[] }; window: { workDoneProgress: boolean } };
    };
    expect(init.capabilities.general.positionEncodings).toEqual(['utf-16']);
    expect(init.capabilities.window.workDoneProgress).toBe(true);
    expect(result.capabilities.positionEncoding).toBe('utf-16');
    await eventually(() => expect(fake.received.map((m) => m.method).slice(0, 2)).toEqual(['initialize', 'initialized']));
    await eventually(() => expect(progress.map((v) => v.kind)).toEqual(['begin', 'report', 'end']));
    expect(progress[0]).toMatchObject({ kind: 'begin', title: 'nib: loading model' });
  });

  it('replays a load in progress to a listener that comes late', async () => {
    pair = fakePair({ loadDelayMs: 200 });
    const early: string[] = [];
    pair.client.onWorkDoneProgress((_t, v) => early.push(v.kind));
    await pair.client.initialize();
    await eventually(() => expect(early).toEqual(['begin', 'report']));
    const late: string[] = [];
    pair.client.onWorkDoneProgress((_t, v) => late.push(v.kind));
    expect(late).toEqual(['begin', 'report']);
    await eventually(() => expect(late).toEqual(['begin', 'report', 'end']));
    const afterEnd: string[] = [];
    pair.client.onWorkDoneProgress((_t, v) => afterEnd.push(v.kind));
    expect(afterEnd).toEqual([]);
  });

  it('gets ServerNotInitialized before initialize', async () => {
    pair = fakePair();
    const err = await pair.client.stats().catch((e: unknown) => e);
    expect(errorCode(err)).toBe(ErrorCode.ServerNotInitialized);
  });

  it('refuses a server that picks another position encoding', async () => {
    const toServer = new PassThrough();
    const toClient = new PassThrough();
    const server = createMessageConnection(new StreamMessageReader(toServer), new StreamMessageWriter(toClient));
    server.onRequest('initialize', () => ({ capabilities: { positionEncoding: 'utf-8' } }));
    server.listen();
    const client = new NibClient(createMessageConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer)));
    await expect(client.initialize()).rejects.toThrow(/position encoding utf-8/);
    client.dispose();
    server.dispose();
  });

  it('shutdown then exit: later requests are refused and the exit code is 0', async () => {
    const { client, exitCodes } = await ready();
    await client.shutdown();
    await eventually(() => expect(exitCodes).toEqual([0]));
    const err = await client.stats().catch((e: unknown) => e);
    expect(errorCode(err)).toBe(ErrorCode.InvalidRequest);
  });
});

describe('NibClient documents and requests', () => {
  it('keeps the daemon document in step through didOpen and incremental didChange', async () => {
    const { client, fake } = await ready();
    await client.didOpen(uri, 'Hello 😀\n日本', 1);
    await client.didChange(uri, 2, [
      { range: { start: { line: 0, character: 8 }, end: { line: 0, character: 8 } }, text: ' world' },
      { range: { start: { line: 1, character: 0 }, end: { line: 1, character: 1 } }, text: '𠀋' },
    ]);
    await eventually(() => expect(fake.documents.get(uri)).toMatchObject({ version: 2, text: 'Hello 😀 world\n𠀋本' }));
    await client.didClose(uri);
    await eventually(() => expect(fake.documents.has(uri)).toBe(false));
  });

  it('inlineCompletion answers at the UTF-16 position', async () => {
    const { client } = await ready();
    await client.didOpen(uri, 'Tea 🍵 is warm\nsecond', 1);
    const list = await client.inlineCompletion({ textDocument: { uri }, position: { line: 0, character: 6 }, context: { triggerKind: 2 } });
    expect(list.items[0]!.insertText).toBe(fakeSuggestion('Tea 🍵'));
    expect(list.items[0]!.range).toEqual({ start: { line: 0, character: 6 }, end: { line: 0, character: 6 } });
  });

  it('nib/complete streams deltas that add up to each alternative', async () => {
    const { client } = await ready();
    await client.didOpen(uri, 'Once upon a time', 1);
    const streamed: string[] = [];
    const result = await client.complete(
      { textDocument: { uri }, position: { line: 0, character: 16 }, n: 2 },
      { onPartial: (v) => void (streamed[v.index] = applyPartial(streamed[v.index] ?? '', v)) },
    );
    expect(result.items.map((i) => i.text)).toEqual([fakeSuggestion('Once upon a time'), `${fakeSuggestion('Once upon a time')} (2)`]);
    expect(streamed).toEqual(result.items.map((i) => i.text));
  });

  it('nib/rewrite streams alternative 0 token by token, then the others whole, and returns edits that give its text', async () => {
    const { client } = await ready();
    const text = 'first line\nthis is  fine i think';
    await client.didOpen(uri, text, 1);
    const streamed: string[] = [];
    const values: NibPartialResult[] = [];
    const range = { start: { line: 1, character: 0 }, end: { line: 1, character: 21 } };
    const result = await client.rewrite(
      { textDocument: { uri, version: 1 }, range, instruction: 'Fix the grammar', n: 3 },
      {
        onPartial: (v) => {
          values.push(v);
          streamed[v.index] = applyPartial(streamed[v.index] ?? '', v);
        },
      },
    );
    expect(result.items[0]!.text).toBe('This is fine I think.');
    expect(streamed).toEqual(result.items.map((i) => i.text));
    const firstOfOthers = values.findIndex((v) => v.index > 0);
    expect(firstOfOthers).toBeGreaterThan(1);
    expect(values.slice(0, firstOfOthers).every((v) => v.index === 0)).toBe(true);
    expect(values.slice(firstOfOthers).map((v) => v.index)).toEqual([1, 2]);
    for (const item of result.items) {
      expect(applyTextEdits(text, item.edits ?? [])).toBe(`first line\n${item.text}`);
    }
  });

  it('nib/rewrite with text refines that text, with edits from the range\'s own text', async () => {
    const { client } = await ready();
    const text = 'keep\nthis is  fine i think';
    await client.didOpen(uri, text, 1);
    const range = { start: { line: 1, character: 0 }, end: { line: 1, character: 21 } };
    const result = await client.rewrite({ textDocument: { uri, version: 1 }, range, instruction: 'Make it shorter', n: 1, text: 'This is really fine.' });
    expect(result.items[0]!.text).toBe('This is fine.');
    expect(applyTextEdits(text, result.items[0]!.edits ?? [])).toBe('keep\nThis is fine.');
  });

  it('nib/rewrite on an old version fails with ContentModified', async () => {
    const { client } = await ready();
    await client.didOpen(uri, 'abc', 1);
    await client.didChange(uri, 2, [{ range: { start: { line: 0, character: 3 }, end: { line: 0, character: 3 } }, text: 'd' }]);
    const err = await client
      .rewrite({ textDocument: { uri, version: 1 }, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 3 } }, instruction: 'x' })
      .catch((e: unknown) => e);
    expect(errorCode(err)).toBe(ErrorCode.ContentModified);
  });

  it('aborting a streamed request sends $/cancelRequest and ends it with -32800', async () => {
    const { client, fake } = await ready({ tokenDelayMs: 20 });
    await client.didOpen(uri, 'one two', 1);
    const abort = new AbortController();
    let partials = 0;
    const request = client.complete(
      { textDocument: { uri }, position: { line: 0, character: 7 }, n: 8, maxTokens: 64 },
      {
        signal: abort.signal,
        onPartial: () => {
          partials++;
          abort.abort();
        },
      },
    );
    const err = await request.catch((e: unknown) => e);
    expect(isCancelled(err)).toBe(true);
    expect(errorCode(err)).toBe(ErrorCode.RequestCancelled);
    expect(partials).toBe(1);
    expect(fake.cancelled).toEqual(['nib/complete']);
  });

  it('an already aborted signal sends nothing', async () => {
    const { client, fake } = await ready();
    const abort = new AbortController();
    abort.abort();
    const before = fake.received.length;
    const err = await client.stats({ signal: abort.signal }).catch((e: unknown) => e);
    expect(isCancelled(err)).toBe(true);
    expect(fake.received.length).toBe(before);
  });

  it('answers workspace/applyEdit for nib.rewrite run as a command', async () => {
    const { client } = await ready();
    await client.didOpen(uri, 'hi there', 1);
    const seen: ApplyWorkspaceEditParams[] = [];
    client.setApplyEditHandler((params) => {
      seen.push(params);
      return { applied: true };
    });
    const result = await client.executeRewrite({
      textDocument: { uri, version: 1 },
      range: { start: { line: 0, character: 0 }, end: { line: 0, character: 8 } },
      instruction: 'Make it more formal',
    });
    expect(result).toEqual({ applied: true, text: fakeRewrite('hi there', 'Make it more formal', 0) });
    expect(seen[0]!.edit.documentChanges![0]!.textDocument).toEqual({ uri, version: 1 });
    expect(applyTextEdits('hi there', seen[0]!.edit.documentChanges![0]!.edits)).toBe('Hello there');
  });

  it('code actions offer one rewrite per instruction on a selection', async () => {
    const { client } = await ready();
    await client.didOpen(uri, 'some words', 1);
    const actions = await client.codeActions({
      textDocument: { uri },
      range: { start: { line: 0, character: 0 }, end: { line: 0, character: 4 } },
      context: { diagnostics: [] },
    });
    expect(actions?.map((a) => a.command?.command)).toEqual(['nib.rewrite', 'nib.rewrite', 'nib.rewrite', 'nib.rewrite']);
    expect(actions?.[0]?.kind).toBe('refactor.rewrite');
  });
});

describe('NibClient checking', () => {
  it('receives publishDiagnostics, gets the quick fix and ignores as code actions, and runs the ignore commands', async () => {
    const { client, fake } = await ready();
    const published: PublishDiagnosticsParams[] = [];
    client.onDiagnostics((params) => published.push(params));
    await client.didChangeConfiguration({ check: { enabled: true, debounceMs: 5 } });
    await client.didOpen(uri, 'Well, I dont know.\nTeh end', 1);
    await eventually(() => expect(published.at(-1)?.diagnostics).toHaveLength(2));
    const [dont, teh] = published.at(-1)!.diagnostics;
    expect(published.at(-1)!.version).toBe(1);
    expect(dont).toEqual({
      range: { start: { line: 0, character: 8 }, end: { line: 0, character: 12 } },
      severity: 3,
      code: 'grammar',
      source: 'nib',
      message: '"dont" → "don\'t"',
      data: { sentence: 'Well, I dont know.', correction: "Well, I don't know.", old: 'dont', new: "don't" },
    });

    const actions = (await client.codeActions({ textDocument: { uri }, range: teh!.range, context: { diagnostics: [] } })) ?? [];
    expect(actions.map((a) => [a.title, a.kind, a.isPreferred ?? false])).toEqual([
      ['Change to "The"', 'quickfix', true],
      ['Ignore this sentence', 'quickfix', false],
      ['Ignore "Teh" → "The" in this document', 'quickfix', false],
      ...fakeInstructions.map((i) => [i.title, 'refactor.rewrite', false]),
    ]);
    const edits = actions[0]!.edit?.documentChanges?.[0]?.edits ?? [];
    expect(applyTextEdits(fake.documents.get(uri)!.text, edits)).toBe('Well, I dont know.\nThe end');

    await client.ignoreInDocument(uri, 'Teh', 'The');
    await eventually(() => expect(published.at(-1)?.diagnostics.map((d) => d.message)).toEqual(['"dont" → "don\'t"']));
    await client.ignoreSentence('Well, I dont know.');
    await eventually(() => expect(published.at(-1)?.diagnostics).toEqual([]));
    await client.didChangeConfiguration({ check: { enabled: false } });
  });
});

describe('startNib', () => {
  it('starts a daemon process, speaks LSP over its stdio and stops it cleanly', async () => {
    const main = fileURLToPath(new URL('../fake-server/main.ts', import.meta.url));
    const model = fileURLToPath(new URL('../../', import.meta.url));
    const stderr: string[] = [];
    const nib = startNib({ command: process.execPath, args: ['--import', 'tsx', main], model, onStderr: (c) => stderr.push(c) });
    const result = await nib.client.initialize();
    expect(result.serverInfo?.name).toBe('nib');
    await nib.client.didOpen(uri, 'Spawned process', 1);
    const list = await nib.client.inlineCompletion({ textDocument: { uri }, position: { line: 0, character: 15 }, context: { triggerKind: 1 } });
    expect(list.items[0]!.insertText).toBe(fakeSuggestion('Spawned process'));
    expect(await nib.stop()).toBe(0);
    expect(stderr.join('')).toContain('serving LSP on stdio');
  }, 30_000); // starting node with tsx takes seconds on a busy machine

  it('reports a daemon that cannot start', async () => {
    const stderr: string[] = [];
    const nib = startNib({ command: '/nonexistent/nib', model: '/tmp', onStderr: (c) => stderr.push(c) });
    expect(await nib.exited).toBe('spawn-error');
    await expect(nib.client.stats()).rejects.toBeDefined();
    expect(stderr.join('')).toContain('cannot start /nonexistent/nib');
  });
});
