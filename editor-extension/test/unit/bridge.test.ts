import { request } from 'node:http';
import { networkInterfaces } from 'node:os';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createMessageConnection } from 'vscode-jsonrpc/node';
import { WebSocket } from 'ws';
import { NibClient } from '../../src/client/nib-client';
import { errorCode, isCancelled } from '../../src/client/errors';
import { connectionOverWebSocket, whenOpen, type WebSocketLike } from '../../src/client/websocket';
import { checkUpgrade, newBridgeToken } from '../../src/node/bridge-auth';
import { startBridge, type Bridge } from '../../src/node/bridge';
import { applyPartial, ErrorCode, type WorkDoneProgressValue } from '../../src/protocol';
import { fakeSuggestion } from '../fake-server/fake-nib';
import { eventually, fakePair, type FakePair } from '../helpers/fake-pair';

const origin = 'http://127.0.0.1:5173';
let pair: FakePair | undefined;
let bridge: Bridge | undefined;
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await bridge?.close();
  bridge = undefined;
  pair?.dispose();
  pair = undefined;
});

async function setup(fakeOptions = {}) {
  pair = fakePair(fakeOptions);
  const loaded: string[] = [];
  pair.client.onWorkDoneProgress((_t, v) => loaded.push(v.kind));
  await pair.client.initialize();
  // Let the model "load" so that no progress replay mixes into the tests.
  await eventually(() => expect(loaded).toContain('end'));
  const fake = pair.fake;
  await eventually(() => expect(fake.received.map((m) => m.method)).toContain('initialized'));
  bridge = await startBridge({ client: pair.client, allowedOrigins: [origin] });
  return { fake: pair.fake, daemon: pair.client, bridge };
}

type Handshake = { status: number } | { socket: WebSocket };

/** Attempts a handshake; resolves with the HTTP status of a refusal. */
function handshake(url: string, headers: { origin?: string; host?: string } = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { ...(headers.origin ? { origin: headers.origin } : {}), headers: headers.host ? { host: headers.host } : {} });
    sockets.push(socket);
    socket.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
    socket.on('open', () => resolve({ socket }));
    socket.on('error', (err) => reject(err));
  });
}

function tokenUrl(b: Bridge, token = b.token): string {
  return `${b.url}?token=${encodeURIComponent(token)}`;
}

/** A page's client through the bridge, as connectToBridge makes it in a
 * browser: the connection exists before the socket opens. */
async function pageClient(b: Bridge, beforeOpen: (client: NibClient) => void = () => {}): Promise<{ client: NibClient; socket: WebSocket }> {
  const socket = new WebSocket(tokenUrl(b), { origin });
  sockets.push(socket);
  const client = new NibClient(connectionOverWebSocket(socket as unknown as WebSocketLike, createMessageConnection));
  beforeOpen(client);
  await whenOpen(socket as unknown as WebSocketLike);
  return { client, socket };
}

/** Sends raw frames and collects the parsed replies. */
function rawReplies(socket: WebSocket): unknown[] {
  const replies: unknown[] = [];
  socket.on('message', (data) => replies.push(JSON.parse(data.toString())));
  return replies;
}

describe('bridge refusals', () => {
  it('listens on 127.0.0.1 only', async () => {
    const { bridge: b } = await setup();
    expect(b.host).toBe('127.0.0.1');
    expect(b.url).toBe(`ws://127.0.0.1:${b.port}/`);
    const external = Object.values(networkInterfaces())
      .flat()
      .filter((i) => i && i.family === 'IPv4' && !i.internal)
      .map((i) => i!.address);
    for (const address of external) {
      const refused = await new Promise<boolean>((resolve) => {
        const socket = connect(b.port, address);
        socket.once('connect', () => {
          socket.destroy();
          resolve(false);
        });
        socket.once('error', () => resolve(true));
      });
      expect(refused, `reachable on ${address}`).toBe(true);
    }
  });

  it('refuses a foreign Origin, a missing Origin, a wrong or missing token, a wrong Host and a wrong path', async () => {
    const { bridge: b, fake } = await setup();
    const received = fake.received.length;
    const otherToken = newBridgeToken();
    const cases: [string, Promise<Handshake>, number][] = [
      ['foreign origin', handshake(tokenUrl(b), { origin: 'http://evil.example' }), 403],
      ['origin on another port', handshake(tokenUrl(b), { origin: 'http://127.0.0.1:5174' }), 403],
      ['no origin', handshake(tokenUrl(b)), 403],
      ['no token', handshake(b.url, { origin }), 401],
      ['wrong token', handshake(tokenUrl(b, otherToken), { origin }), 401],
      ['token prefix', handshake(tokenUrl(b, b.token.slice(0, 10)), { origin }), 401],
      ['rebound host', handshake(tokenUrl(b), { origin, host: `evil.example:${b.port}` }), 403],
      ['other path', handshake(`ws://127.0.0.1:${b.port}/other?token=${b.token}`, { origin }), 404],
    ];
    for (const [name, attempt, status] of cases) {
      const result = await attempt;
      expect(result, name).toEqual({ status });
    }
    expect(b.sessionCount()).toBe(0);
    expect(fake.received.length).toBe(received);
  });

  it('answers plain HTTP with 426', async () => {
    const { bridge: b } = await setup();
    const status = await new Promise<number>((resolve, reject) => {
      request({ host: '127.0.0.1', port: b.port, path: '/' }, (res) => resolve(res.statusCode ?? 0)).on('error', reject).end();
    });
    expect(status).toBe(426);
  });

  it('checkUpgrade accepts exactly the allowed triple', () => {
    const policy = { token: 'secret-token', allowedOrigins: new Set([origin]), port: 4000 };
    const ok = { headers: { host: '127.0.0.1:4000', origin }, url: '/?token=secret-token' };
    expect(checkUpgrade(ok, policy)).toEqual({ ok: true });
    expect(checkUpgrade({ ...ok, headers: { ...ok.headers, host: 'localhost:4000' } }, policy)).toEqual({ ok: true });
    expect(checkUpgrade({ ...ok, headers: { ...ok.headers, host: '127.0.0.1:4001' } }, policy)).toMatchObject({ ok: false, status: 403 });
    expect(checkUpgrade({ ...ok, url: '/?token=secret-tokeN' }, policy)).toMatchObject({ ok: false, status: 401 });
    expect(checkUpgrade({ ...ok, headers: { host: '127.0.0.1:4000', origin: 'null' } }, policy)).toMatchObject({ ok: false, status: 403 });
  });
});

describe('bridge relay', () => {
  it('answers initialize from the daemon it already initialized, and relays documents and requests', async () => {
    const { bridge: b, fake } = await setup();
    const { client } = await pageClient(b);
    const result = await client.initialize();
    expect(result.serverInfo?.version).toBe('0.1.0-fake');
    expect(fake.received.filter((m) => m.method === 'initialize')).toHaveLength(1);
    await client.didOpen('untitled:page', 'Bridged text 🌉', 1);
    await client.didChange('untitled:page', 2, [{ range: { start: { line: 0, character: 15 }, end: { line: 0, character: 15 } }, text: ' ok' }]);
    await eventually(() => expect(fake.documents.get('untitled:page')).toMatchObject({ version: 2, text: 'Bridged text 🌉 ok' }));
    const list = await client.inlineCompletion({ textDocument: { uri: 'untitled:page' }, position: { line: 0, character: 18 }, context: { triggerKind: 2 } });
    expect(list.items[0]!.insertText).toBe(fakeSuggestion('Bridged text 🌉 ok'));
  });

  it('relays streaming under the page token while the daemon sees a bridge token', async () => {
    const { bridge: b, fake } = await setup();
    const { client } = await pageClient(b);
    await client.initialize();
    await client.didOpen('untitled:stream', 'stream me', 1);
    let streamed = '';
    const result = await client.complete({ textDocument: { uri: 'untitled:stream' }, position: { line: 0, character: 9 } }, {
      onPartial: (v) => void (streamed = applyPartial(streamed, v)),
    });
    expect(streamed).toBe(result.items[0]!.text);
    const forwarded = fake.received.find((m) => m.method === 'nib/complete')!.params as { partialResultToken: string };
    expect(forwarded.partialResultToken).toMatch(/^bridge-\d+-progress-\d+$/);
  });

  it('maps $/cancelRequest onto the forwarded request', async () => {
    const { bridge: b, fake } = await setup({ tokenDelayMs: 20 });
    const { client } = await pageClient(b);
    await client.initialize();
    await client.didOpen('untitled:cancel', 'cancel me', 1);
    const abort = new AbortController();
    const err = await client
      .complete({ textDocument: { uri: 'untitled:cancel' }, position: { line: 0, character: 9 }, n: 8 }, { signal: abort.signal, onPartial: () => abort.abort() })
      .catch((e: unknown) => e);
    expect(isCancelled(err)).toBe(true);
    expect(fake.cancelled).toEqual(['nib/complete']);
  });

  it('refuses methods pages may not use and documents they did not open', async () => {
    const { bridge: b, fake } = await setup();
    const { client } = await pageClient(b);
    await client.initialize();
    const unknown = await client.connection.sendRequest('workspace/symbol', { query: '' }).catch((e: unknown) => e);
    expect(errorCode(unknown)).toBe(ErrorCode.MethodNotFound);
    await client.didChangeConfiguration({ model: '/etc' });
    const notOpen = await client
      .inlineCompletion({ textDocument: { uri: 'untitled:elsewhere' }, position: { line: 0, character: 0 }, context: { triggerKind: 2 } })
      .catch((e: unknown) => e);
    expect(errorCode(notOpen)).toBe(ErrorCode.InvalidParams);
    expect(fake.received.map((m) => m.method)).not.toContain('workspace/didChangeConfiguration');
  });

  it('keeps pages apart and closes a page documents when it leaves', async () => {
    const { bridge: b, fake } = await setup();
    const first = await pageClient(b);
    const second = await pageClient(b);
    await first.client.initialize();
    await second.client.initialize();
    const messages: string[] = [];
    second.client.onMessage((m) => messages.push(m.message));
    await first.client.didOpen('untitled:mine', 'first page', 1);
    await eventually(() => expect(fake.documents.has('untitled:mine')).toBe(true));
    await second.client.didOpen('untitled:mine', 'hijack', 1);
    await eventually(() => expect(messages).toEqual(['bridge: untitled:mine is open in another page']));
    expect(fake.documents.get('untitled:mine')!.text).toBe('first page');
    const stolen = await second.client
      .rewrite({ textDocument: { uri: 'untitled:mine', version: 1 }, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 5 } }, instruction: 'x' })
      .catch((e: unknown) => e);
    expect(errorCode(stolen)).toBe(ErrorCode.InvalidParams);
    first.socket.close();
    await eventually(() => expect(fake.documents.has('untitled:mine')).toBe(false));
    await eventually(() => expect(b.sessionCount()).toBe(1));
  });

  it('routes workspace/applyEdit to the page that owns the document', async () => {
    const { bridge: b } = await setup();
    const { client } = await pageClient(b);
    await client.initialize();
    await client.didOpen('untitled:edit', 'hi all', 1);
    const applied: unknown[] = [];
    client.setApplyEditHandler((params) => {
      applied.push(params.edit.documentChanges?.[0]?.edits);
      return { applied: true };
    });
    const result = await client.executeRewrite({
      textDocument: { uri: 'untitled:edit', version: 1 },
      range: { start: { line: 0, character: 0 }, end: { line: 0, character: 6 } },
      instruction: 'Make it more formal',
    });
    expect(result.applied).toBe(true);
    expect(applied).toEqual([[{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 2 } }, newText: 'Hello' }]]);
  });

  it('sends diagnostics only to the page of their document, and lets a page switch checking and nothing else', async () => {
    const { bridge: b, fake } = await setup();
    const first = await pageClient(b);
    const second = await pageClient(b);
    await first.client.initialize();
    await second.client.initialize();
    const seen: { page: number; uri: string }[] = [];
    first.client.onDiagnostics((params) => seen.push({ page: 1, uri: params.uri }));
    second.client.onDiagnostics((params) => seen.push({ page: 2, uri: params.uri }));
    const refused: string[] = [];
    first.client.onMessage((params) => refused.push(params.message));
    await first.client.didChangeConfiguration({ model: '/elsewhere', check: { enabled: true } });
    await eventually(() => expect(refused).toEqual([expect.stringMatching(/only switch checking on or off/)]));
    await first.client.didChangeConfiguration({ check: { enabled: true } });
    await eventually(() => expect(fake.received.filter((m) => m.method === 'workspace/didChangeConfiguration')).toHaveLength(1));
    expect(fake.received.find((m) => m.method === 'workspace/didChangeConfiguration')!.params).toEqual({ settings: { nib: { check: { enabled: true } } } });
    await first.client.didOpen('untitled:mine', 'teh', 1);
    await eventually(() => expect(seen).toEqual([{ page: 1, uri: 'untitled:mine' }]), 3000);
    await first.client.ignoreSentence('teh');
    await eventually(() => expect(seen).toHaveLength(2));
    expect(seen.every((s) => s.page === 1)).toBe(true);
  });

  it('replays model-loading progress to a page that connects during the load', async () => {
    pair = fakePair({ loadDelayMs: 300 });
    const daemonProgress: string[] = [];
    pair.client.onWorkDoneProgress((_t, v) => daemonProgress.push(v.kind));
    await pair.client.initialize();
    bridge = await startBridge({ client: pair.client, allowedOrigins: [origin] });
    await eventually(() => expect(daemonProgress).toEqual(['begin']));
    const seen: WorkDoneProgressValue[] = [];
    const { client } = await pageClient(bridge, (c) => c.onWorkDoneProgress((_t, v) => seen.push(v)));
    await client.initialize();
    await eventually(() => expect(seen.map((v) => v.kind)).toEqual(['begin', 'report', 'end']), 3000);
    expect(seen[0]).toMatchObject({ title: 'nib: loading model' });
  });

  it('answers malformed frames with JSON-RPC errors and drops binary frames', async () => {
    const { bridge: b } = await setup();
    const result = await handshake(tokenUrl(b), { origin });
    if (!('socket' in result)) throw new Error('refused');
    const replies = rawReplies(result.socket);
    result.socket.send('{not json');
    result.socket.send(JSON.stringify({ id: 1, method: 'nib/stats' }));
    await eventually(() => expect(replies).toHaveLength(2));
    expect(replies[0]).toMatchObject({ id: null, error: { code: ErrorCode.ParseError } });
    expect(replies[1]).toMatchObject({ id: null, error: { code: ErrorCode.InvalidRequest } });
    const closed = new Promise<number>((resolve) => result.socket.on('close', (code) => resolve(code)));
    result.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await closed).toBe(1003);
  });
});
