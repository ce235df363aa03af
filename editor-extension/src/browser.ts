// Browser entry: a NibClient that reaches nib either in the page itself
// (engine 'browser': nib.wasm in a web worker on the page's WebGPU) or
// through the bridge to the native daemon (engine 'daemon').
import { createMessageConnection } from 'vscode-jsonrpc/browser';
import { NibClient } from './client/nib-client';
import { connectionOverWebSocket, whenOpen } from './client/websocket';
import { startBrowserEngine, type BrowserEngineOptions } from './engine/browser-engine';

export { NibClient } from './client/nib-client';
export * from './client/errors';
export {
  startBrowserEngine,
  BrowserEngineError,
  type BrowserEngineOptions,
  type BrowserEngineErrorKind,
  type DownloadProgress,
  type ModelSource,
} from './engine/browser-engine';

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

/** Where nib runs for a page: in the page (no install), or in the daemon
 * behind the bridge. The plugin is the same either way. */
export type NibTransport = ({ engine: 'browser' } & BrowserEngineOptions) | { engine: 'daemon'; bridge: string; token: string };

/** Connects to nib by the chosen transport. */
export function connectNib(transport: NibTransport): Promise<NibClient> {
  if (transport.engine === 'daemon') return connectToBridge(transport.bridge, transport.token);
  const { engine: _, ...options } = transport;
  return startBrowserEngine(options);
}
