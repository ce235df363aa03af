// Browser entry: a NibClient that reaches the daemon through the bridge.
import { createMessageConnection } from 'vscode-jsonrpc/browser';
import { NibClient } from './client/nib-client';
import { connectionOverWebSocket, whenOpen } from './client/websocket';

export { NibClient } from './client/nib-client';
export * from './client/errors';

/** Opens the bridge's WebSocket with its token and returns a client over
 * it. The bridge answers initialize with the daemon's own result. */
export async function connectToBridge(bridgeUrl: string, token: string): Promise<NibClient> {
  const url = new URL(bridgeUrl);
  url.searchParams.set('token', token);
  const socket = new WebSocket(url.toString());
  const client = new NibClient(connectionOverWebSocket(socket, createMessageConnection));
  try {
    await whenOpen(socket);
  } catch (err) {
    client.dispose();
    throw err;
  }
  return client;
}
