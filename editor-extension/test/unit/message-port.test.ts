import { MessageChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { createMessageConnection } from 'vscode-jsonrpc/node';
import { connectionOverPort, type MessagePortLike } from '../../src/client/message-port';
import { NibClient } from '../../src/client/nib-client';
import { serveFakeNib } from '../fake-server/fake-nib';
import { eventually } from '../helpers/fake-pair';

// The in-page engine's transport: one JSON-RPC message per port message,
// as JSON text, which is what nib's server.ServeMessages reads in the
// worker. Node's MessageChannel stands in for the browser's.
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function channel() {
  const { port1, port2 } = new MessageChannel();
  cleanups.push(() => {
    port1.close();
    port2.close();
  });
  return { page: port1 as unknown as MessagePortLike, worker: port2 as unknown as MessagePortLike };
}

describe('the MessagePort transport', () => {
  it('carries a whole session as one JSON text per message', async () => {
    const { page, worker } = channel();
    const raw: unknown[] = [];
    worker.addEventListener('message', (e) => raw.push(e.data));
    const server = connectionOverPort(worker, createMessageConnection).connection;
    const fake = serveFakeNib(server, { tokenDelayMs: 1, loadDelayMs: 5 });
    server.listen();
    const client = new NibClient(connectionOverPort(page, createMessageConnection).connection);
    cleanups.push(() => client.dispose());
    const result = await client.initialize({ clientName: 'port-test' });
    expect(result.capabilities.positionEncoding).toBe('utf-16');
    await eventually(() => expect(fake.received.map((m) => m.method).slice(0, 2)).toEqual(['initialize', 'initialized']));
    expect(raw.length).toBeGreaterThanOrEqual(2);
    for (const data of raw) {
      expect(typeof data).toBe('string');
      expect(JSON.parse(data as string)).toMatchObject({ jsonrpc: '2.0' });
    }
  });

  it('ends the client when the worker is gone, and refuses to write after', async () => {
    const { page } = channel();
    const { connection, closed } = connectionOverPort(page, createMessageConnection);
    const client = new NibClient(connection);
    cleanups.push(() => client.dispose());
    let ended = false;
    client.onClose(() => (ended = true));
    closed();
    await eventually(() => expect(ended).toBe(true));
  });

  it('reports a message that is not JSON instead of dropping it silently', async () => {
    const { page, worker } = channel();
    const { connection } = connectionOverPort(page, createMessageConnection);
    const errors: string[] = [];
    connection.onError(([err]) => errors.push(err.message));
    connection.listen();
    cleanups.push(() => connection.dispose());
    worker.postMessage('{not json');
    await eventually(() => expect(errors.join()).toContain('malformed JSON from the worker'));
  });
});
