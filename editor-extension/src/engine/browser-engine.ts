// nib in the page: nib.wasm in a dedicated Web Worker on the page's own
// WebGPU, speaking the daemon's protocol over a MessagePort.
import { createMessageConnection } from 'vscode-jsonrpc/browser';
import { connectionOverPort } from '../client/message-port';
import { NibClient } from '../client/nib-client';

/** Where the model comes from: a URL of a Hugging Face-layout folder
 * (config.json, model.safetensors or shards, tokenizer.json or
 * spiece.model), or a Hugging Face hub id read through its resolve URLs. */
export type ModelSource = { url: string } | { hub: string; endpoint?: string; revision?: string };

/** One step of a model download; `cached` files come from the browser's
 * Cache Storage without touching the network. */
export interface DownloadProgress {
  file: string;
  loaded: number;
  total: number;
  cached: boolean;
}

/** Why the engine could not start: no WebGPU in this browser, a model that
 * cannot be fetched or is not a model, the network (CORS, offline), or
 * nib.wasm itself. Errors met later (a lost device, out of memory, a bad
 * checkpoint) come over the protocol, as from the daemon. */
export type BrowserEngineErrorKind = 'no-webgpu' | 'model' | 'network' | 'wasm' | 'internal';

export class BrowserEngineError extends Error {
  constructor(
    readonly kind: BrowserEngineErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'BrowserEngineError';
  }
}

export interface BrowserEngineOptions {
  model: ModelSource;
  /** The folder that scripts/build-wasm.mjs fills (dist/wasm): nib-worker.js,
   * nib.wasm and wasm_exec.js, served by the page's origin. */
  assets: string | URL;
  onProgress?: (progress: DownloadProgress) => void;
  /** The engine's log lines (its stderr); by default the console's. */
  onLog?: (text: string) => void;
  /** debug, info, warn or error; info by default. */
  logLevel?: string;
}

type WorkerEvent =
  | { type: 'progress'; file: string; loaded: number; total: number; cached: boolean }
  | { type: 'stdout' | 'stderr'; text: string }
  | { type: 'started' }
  | { type: 'exit'; code: number }
  | { type: 'error'; kind: BrowserEngineErrorKind; message: string };

/** Starts nib in a worker and returns a client connected to it, once the
 * model is fetched (or taken from the cache) and nib runs; call
 * client.initialize next, as with the daemon. Rejects with a
 * BrowserEngineError when it cannot start. client.dispose() stops it. */
export function startBrowserEngine(options: BrowserEngineOptions): Promise<NibClient> {
  const base = new URL(options.assets, globalThis.location?.href);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const asset = (name: string) => new URL(name, base).href;
  const worker = new Worker(asset('nib-worker.js'));
  const channel = new MessageChannel();
  const { connection, closed } = connectionOverPort(channel.port1, createMessageConnection);
  const client = new NibClient(connection);
  const log = options.onLog ?? ((text: string) => console.info(text.trimEnd()));
  // Disposing of the client, or the program ending, ends the worker.
  connection.onDispose(() => worker.terminate());
  return new Promise<NibClient>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<WorkerEvent>) => {
      const msg = event.data;
      switch (msg.type) {
        case 'progress':
          options.onProgress?.(msg);
          break;
        case 'stdout':
        case 'stderr':
          log(msg.text);
          break;
        case 'started':
          resolve(client);
          break;
        case 'exit':
          closed();
          worker.terminate();
          break;
        case 'error':
          worker.terminate();
          client.dispose();
          reject(new BrowserEngineError(msg.kind, msg.message));
          break;
      }
    };
    worker.onerror = (event) => {
      client.dispose();
      reject(new BrowserEngineError('internal', `nib's worker failed: ${event.message || `cannot load ${asset('nib-worker.js')}`}`));
    };
    worker.postMessage(
      {
        type: 'run',
        argv: ['nib', '--model', '/model', '--log-level', options.logLevel ?? 'info'],
        wasm: asset('nib.wasm'),
        wasmExec: asset('wasm_exec.js'),
        model: options.model,
        port: channel.port2,
      },
      [channel.port2],
    );
  });
}
