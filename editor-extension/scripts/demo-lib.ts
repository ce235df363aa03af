// Starts the demo: the daemon (real or fake), the WebSocket bridge and the
// Vite server, wired together. Used by scripts/demo.ts and the browser tests.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, type ViteDevServer } from 'vite';
import type { NibSettings } from '../src/protocol';
import { startBridge } from '../src/node/bridge';
import { startNib, type NibProcess } from '../src/node/daemon';
import { staticHandler } from './browser-lib.mjs';
import { buildWasm } from './build-wasm.mjs';

export const extensionRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = resolve(extensionRoot, '..');
export const defaultModel = resolve(repoRoot, '../shared/fixtures/t5-tiny-gated');

export type ServerKind = 'real' | 'fake';

/** Where nib runs: the daemon behind the WebSocket bridge, or nib.wasm in
 * the page's own worker with no process besides Vite. */
export type EngineKind = 'daemon' | 'browser';

export interface DemoOptions {
  model: string;
  engine: EngineKind;
  server: ServerKind;
  /** Vite's port; 0 picks a free one. */
  port: number;
  /** The bridge's port; 0 picks a free one. */
  bridgePort: number;
  settings?: NibSettings;
  log: (line: string) => void;
  /** Called when the daemon exits while the demo runs; the bridge stays,
   * and a page that reconnects starts a new daemon. */
  onDaemonExit?: (code: number | string) => void;
}

export interface RunningDemo {
  /** The page to open: the bridge address and token ride in the fragment. */
  url: string;
  close(): Promise<void>;
}

/** The daemon's command line: the fake under tsx, or the nib binary from
 * $NIB_BINARY, else built from the repository with `go build`. */
export function daemonCommand(server: ServerKind, log: (line: string) => void): { command: string; args: string[] } {
  if (server === 'fake') {
    // tsx by absolute URL: the daemon runs from the repository root, where
    // a bare `--import tsx` would not find this package's node_modules.
    return { command: process.execPath, args: ['--import', import.meta.resolve('tsx'), join(extensionRoot, 'test/fake-server/main.ts')] };
  }
  const fromEnv = process.env.NIB_BINARY;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`NIB_BINARY=${fromEnv} does not exist`);
    return { command: fromEnv, args: [] };
  }
  const output = join(extensionRoot, 'dist', 'nib');
  mkdirSync(dirname(output), { recursive: true });
  log(`building the daemon: go build -o ${output} ./cmd/lsp`);
  const build = spawnSync('go', ['build', '-o', output, './cmd/lsp'], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
  if (build.error) throw new Error(`cannot run go: ${build.error.message} (set NIB_BINARY to a built nib instead)`);
  if (build.status !== 0) throw new Error(`go build failed with status ${build.status}`);
  return { command: output, args: [] };
}

/** The page and nib.wasm with the model folder, from Vite alone. */
async function startBrowserDemo(options: DemoOptions): Promise<RunningDemo> {
  const { dir, gzipBytes } = buildWasm({ log: options.log });
  options.log(`nib.wasm: ${(gzipBytes / 1e6).toFixed(2)} MB gzipped`);
  const files = staticHandler({ '/nib': dir, '/model': resolve(options.model) });
  const vite = await createServer({
    configFile: join(extensionRoot, 'vite.config.ts'),
    server: { port: options.port, strictPort: options.port !== 0, host: '127.0.0.1' },
    plugins: [{ name: 'nib-browser-engine', configureServer: (server) => void server.middlewares.use(files) }],
  });
  await listen(vite, options.port, '--port');
  const vitePort = (vite.httpServer?.address() as AddressInfo).port;
  const fragment = new URLSearchParams({ engine: 'browser', model: '/model/' });
  if (options.settings) fragment.set('settings', JSON.stringify(options.settings));
  return { url: `http://127.0.0.1:${vitePort}/#${fragment.toString()}`, close: () => vite.close() };
}

export async function startDemo(options: DemoOptions): Promise<RunningDemo> {
  if (options.engine === 'browser') return startBrowserDemo(options);
  const { log } = options;
  const { command, args } = daemonCommand(options.server, log);
  let closing = false;
  const startDaemon = async (): Promise<NibProcess> => {
    const started = startNib({
      command,
      args,
      model: options.model,
      cwd: repoRoot,
      onStderr: (chunk) => {
        for (const line of chunk.split('\n')) if (line.trim() !== '') log(`[nib] ${line}`);
      },
    });
    daemon = started;
    // The browser tests read the pid from the log to kill the daemon.
    log(`demo: daemon started, pid ${started.child.pid ?? '?'}`);
    void started.exited.then((code) => {
      if (!closing) options.onDaemonExit?.(code);
    });
    const init = await started.client.initialize({ clientName: 'nib-demo-bridge', ...(options.settings ? { settings: options.settings } : {}) });
    log(`daemon: ${init.serverInfo?.name ?? '?'} ${init.serverInfo?.version ?? ''} (${options.server})`);
    return started;
  };
  let daemon: NibProcess | undefined;
  const cleanups: (() => Promise<unknown>)[] = [async () => daemon?.stop()];
  const close = async () => {
    closing = true;
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => log(`demo: ${String(err)}`));
  };
  try {
    const first = await startDaemon();
    const vite = await createServer({
      configFile: join(extensionRoot, 'vite.config.ts'),
      server: { port: options.port, strictPort: options.port !== 0, host: '127.0.0.1' },
    });
    await listen(vite, options.port, '--port');
    cleanups.push(() => vite.close());
    const vitePort = (vite.httpServer?.address() as AddressInfo).port;
    const bridge = await startBridge({
      client: first.client,
      restartDaemon: async () => {
        // The old process has exited (its pipes closed), but make sure
        // before a second one loads the model next to it.
        await daemon?.stop(1000);
        return (await startDaemon()).client;
      },
      port: options.bridgePort,
      allowedOrigins: [`http://127.0.0.1:${vitePort}`, `http://localhost:${vitePort}`],
      log,
    }).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      throw new Error(`bridge port ${options.bridgePort} is already in use; choose another with --bridge-port N, or leave it out for any free port`);
    });
    cleanups.push(() => bridge.close());
    const fragment = new URLSearchParams({ bridge: bridge.url, token: bridge.token });
    return { url: `http://127.0.0.1:${vitePort}/#${fragment.toString()}`, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Starts Vite on its fixed port, saying which flag picks another when the
 * port is taken (Vite itself only says that it is). */
async function listen(vite: ViteDevServer, port: number, flag: string): Promise<void> {
  try {
    await vite.listen();
  } catch (err) {
    await vite.close();
    if (err instanceof Error && /already in use/.test(err.message)) {
      throw new Error(`port ${port} is already in use (another demo running?); choose another with ${flag} N, or ${flag} 0 for any free port`);
    }
    throw err;
  }
}
