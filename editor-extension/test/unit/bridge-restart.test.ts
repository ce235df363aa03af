// The bridge outliving its daemon: pages are told it stopped, and the next
// page to connect gets a new daemon.
import { afterEach, describe, expect, it } from 'vitest';
import { createMessageConnection } from 'vscode-jsonrpc/node';
import { WebSocket } from 'ws';
import { NibClient } from '../../src/client/nib-client';
import { connectionOverWebSocket, whenOpen, type WebSocketLike } from '../../src/client/websocket';
import { daemonStoppedCode, startBridge, type Bridge } from '../../src/node/bridge';
import { fakeSuggestion } from '../fake-server/fake-nib';
import { eventually, fakePair, type FakePair } from '../helpers/fake-pair';

const origin = 'http://127.0.0.1:5173';
const pairs: FakePair[] = [];
const sockets: WebSocket[] = [];
let bridge: Bridge | undefined;

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await bridge?.close();
  bridge = undefined;
  for (const pair of pairs.splice(0)) pair.dispose();
});

async function daemon(): Promise<FakePair> {
  const pair = fakePair();
  pairs.push(pair);
  await pair.client.initialize();
  return pair;
}

async function page(b: Bridge): Promise<{ client: NibClient; socket: WebSocket }> {
  const socket = new WebSocket(`${b.url}?token=${b.token}`, { origin });
  sockets.push(socket);
  const client = new NibClient(connectionOverWebSocket(socket as unknown as WebSocketLike, createMessageConnection));
  await whenOpen(socket as unknown as WebSocketLike);
  await client.initialize();
  return { client, socket };
}

async function completes(client: NibClient, uri: string): Promise<string> {
  await client.didOpen(uri, 'Hello', 1);
  const list = await client.inlineCompletion({ textDocument: { uri }, position: { line: 0, character: 5 }, context: { triggerKind: 2 } });
  return list.items[0]!.insertText;
}

describe('bridge and a daemon that stops', () => {
  it('closes pages with the reason, and starts a new daemon for the next page', async () => {
    const first = await daemon();
    let restarts = 0;
    bridge = await startBridge({
      client: first.client,
      allowedOrigins: [origin],
      restartDaemon: async () => {
        restarts++;
        return (await daemon()).client;
      },
    });
    const before = await page(bridge);
    expect(await completes(before.client, 'untitled:a')).toBe(fakeSuggestion('Hello'));
    const closedWith = new Promise<{ code: number; reason: string }>((resolve) =>
      before.socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    let reason: string | undefined;
    before.client.onClose((r) => (reason = r));

    first.kill();
    expect(await closedWith).toEqual({ code: daemonStoppedCode, reason: 'nib: the daemon stopped; reconnect to start it again' });
    await eventually(() => expect(reason).toBe('nib: the daemon stopped; reconnect to start it again'));
    expect(before.client.closeReason).toBe(reason);
    await eventually(() => expect(bridge!.sessionCount()).toBe(0));
    expect(restarts).toBe(0);

    // The same document URI again: the dead daemon's claim on it is gone.
    const after = await page(bridge);
    expect(restarts).toBe(1);
    expect(await completes(after.client, 'untitled:a')).toBe(fakeSuggestion('Hello'));
    expect(pairs[1]!.fake.documents.has('untitled:a')).toBe(true);
  });

  it('without restartDaemon, turns pages away once the daemon stopped', async () => {
    const only = await daemon();
    bridge = await startBridge({ client: only.client, allowedOrigins: [origin] });
    const before = await page(bridge);
    const closed = new Promise<number>((resolve) => before.socket.once('close', (code) => resolve(code)));
    only.kill();
    expect(await closed).toBe(daemonStoppedCode);
    const status = await new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(`${bridge!.url}?token=${bridge!.token}`, { origin });
      // A refused handshake ends the socket with an error of its own.
      socket.on('error', () => {});
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.on('open', () => reject(new Error('admitted without a daemon')));
    });
    expect(status).toBe(503);
  });
});
