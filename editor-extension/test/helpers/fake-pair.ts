// A NibClient wired to the fake daemon in the same process, through a pair
// of in-memory streams carrying real LSP framing.
import { PassThrough } from 'node:stream';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { NibClient } from '../../src/client/nib-client';
import { serveFakeNib, type FakeNib, type FakeNibOptions } from '../fake-server/fake-nib';

export interface FakePair {
  client: NibClient;
  fake: FakeNib;
  exitCodes: number[];
  /** Ends the pipes as a daemon that died would: the client sees a close. */
  kill(): void;
  dispose(): void;
}

export function fakePair(options: FakeNibOptions = {}): FakePair {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const serverConnection = createMessageConnection(new StreamMessageReader(toServer), new StreamMessageWriter(toClient));
  const exitCodes: number[] = [];
  const fake = serveFakeNib(serverConnection, { tokenDelayMs: 1, loadDelayMs: 5, onExit: (code) => exitCodes.push(code), ...options });
  serverConnection.listen();
  const client = new NibClient(createMessageConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer)));
  return {
    client,
    fake,
    exitCodes,
    kill() {
      serverConnection.dispose();
      toClient.end();
      toServer.end();
    },
    dispose() {
      client.dispose();
      serverConnection.dispose();
    },
  };
}

/** Polls until `check` stops throwing (for effects that cross streams). */
export async function eventually(check: () => void, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}
