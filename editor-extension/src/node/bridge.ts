import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Disposable } from 'vscode-jsonrpc';
import { WebSocketServer, type WebSocket } from 'ws';
import type { NibClient } from '../client/nib-client';
import { Method, type ApplyWorkspaceEditParams, type ProgressToken, type WorkDoneProgressValue } from '../protocol';
import { checkUpgrade, newBridgeToken } from './bridge-auth';
import { BridgeSession, type SessionHost } from './bridge-session';

export interface BridgeOptions {
  /** A client of the daemon on which initialize has already succeeded. */
  client: NibClient;
  /** Starts a new daemon (and initializes it) when a page connects after
   * the daemon stopped, so that a page's reconnect brings nib back.
   * Without it the bridge turns pages away (503) once its daemon is gone. */
  restartDaemon?: () => Promise<NibClient>;
  /** Exact page origins allowed to connect, e.g. "http://127.0.0.1:5173". */
  allowedOrigins?: string[];
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Defaults to a fresh random token. */
  token?: string;
  log?: (line: string) => void;
  /** Largest message a page may send; the default is 8 MiB. */
  maxPayloadBytes?: number;
}

export interface Bridge {
  /** ws://127.0.0.1:PORT/ (without the token). */
  readonly url: string;
  readonly port: number;
  /** The address it listens on: always 127.0.0.1. */
  readonly host: string;
  readonly token: string;
  /** Adds an origin after start (the demo learns Vite's port late). */
  allowOrigin(origin: string): void;
  /** Pages connected now. */
  sessionCount(): number;
  close(): Promise<void>;
}

/** The WebSocket close code and reason a page gets when the daemon stops. */
export const daemonStoppedCode = 1011;

/**
 * Starts the WebSocket bridge between browser pages and the daemon. It
 * listens on 127.0.0.1 only and admits a handshake only with a loopback
 * Host, an allowed Origin and the token (see bridge-auth.ts); each admitted
 * page gets a BridgeSession relaying JSON-RPC both ways. The bridge outlives
 * its daemon: when the daemon stops, it closes every page's socket saying
 * so, and (with restartDaemon) the next page to connect starts a new one.
 */
export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  const token = options.token ?? newBridgeToken();
  const origins = new Set(options.allowedOrigins ?? []);
  const log = options.log ?? (() => {});
  const sessions = new Set<BridgeSession>();
  const owners = new Map<string, BridgeSession>();
  // Work-done progress (model loading) in flight, replayed to late pages.
  const activeProgress = new Map<ProgressToken, { begin: WorkDoneProgressValue; last?: WorkDoneProgressValue }>();

  let client: NibClient | undefined;
  let subscriptions: Disposable[] = [];
  let starting: Promise<NibClient> | undefined;
  const stoppedReason = options.restartDaemon ? 'nib: the daemon stopped; reconnect to start it again' : 'nib: the daemon stopped';

  const shared: Omit<SessionHost, 'client'> = {
    log,
    claim(uri, session) {
      const owner = owners.get(uri);
      if (owner && owner !== session) return false;
      owners.set(uri, session);
      return true;
    },
    release(uri, session) {
      if (owners.get(uri) === session) owners.delete(uri);
    },
  };

  const http = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('nib bridge: WebSocket only\n');
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes ?? 8 * 1024 * 1024 });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    // 127.0.0.1 and nothing else: the bridge must never face a network.
    http.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port, address: listenAddress } = http.address() as AddressInfo;

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const verdict = checkUpgrade(req, { token, allowedOrigins: origins, port });
    if (!verdict.ok) {
      log(`bridge: refused a connection: ${verdict.reason}`);
      const text = verdict.status === 401 ? 'Unauthorized' : verdict.status === 403 ? 'Forbidden' : 'Not Found';
      socket.end(`HTTP/1.1 ${verdict.status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    daemonForPage().then(
      (daemon) => wss.handleUpgrade(req, socket, head, (ws) => admit(ws, daemon)),
      (err: unknown) => {
        log(`bridge: refused a connection: no daemon: ${err instanceof Error ? err.message : String(err)}`);
        socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      },
    );
  });

  /** The running daemon, or a new one if it stopped and may be restarted;
   * pages connecting together share one start. */
  const daemonForPage = async (): Promise<NibClient> => {
    if (client && !client.isClosed) return client;
    const restart = options.restartDaemon;
    if (!restart) throw new Error('the daemon stopped');
    starting ??= restart()
      .then((next) => {
        attach(next);
        return next;
      })
      .finally(() => (starting = undefined));
    return starting;
  };

  let nextSession = 0;
  const admit = (ws: WebSocket, daemon: NibClient) => {
    // A session keeps the daemon it was admitted to: if that one stops,
    // the session ends with it rather than moving to the next.
    const session = new BridgeSession(++nextSession, { ...shared, client: daemon }, (text) => ws.send(text), () => ws.close());
    sessions.add(session);
    log(`bridge: page ${session.id} connected`);
    for (const [progressToken, { begin, last }] of activeProgress) {
      session.requestIgnoringAnswer(Method.workDoneProgressCreate, { token: progressToken });
      session.notify(Method.progress, { token: progressToken, value: begin });
      if (last) session.notify(Method.progress, { token: progressToken, value: last });
    }
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        ws.close(1003, 'text frames only');
        return;
      }
      session.handleFrame(data.toString());
    });
    ws.on('close', () => {
      sessions.delete(session);
      session.close();
      log(`bridge: page ${session.id} disconnected`);
    });
    ws.on('error', (err) => log(`bridge: page ${session.id}: ${err.message}`));
  };

  const attach = (daemon: NibClient) => {
    client = daemon;
    subscriptions = [
      daemon.onWorkDoneProgress((progressToken, value) => {
        if (value.kind === 'begin') activeProgress.set(progressToken, { begin: value });
        else if (value.kind === 'end') activeProgress.delete(progressToken);
        else {
          const entry = activeProgress.get(progressToken);
          if (entry) entry.last = value;
        }
        for (const session of sessions) {
          if (value.kind === 'begin') session.requestIgnoringAnswer(Method.workDoneProgressCreate, { token: progressToken });
          session.notify(Method.progress, { token: progressToken, value });
        }
      }),
      daemon.onMessage((params, kind) => {
        for (const session of sessions) session.notify(kind === 'show' ? Method.showMessage : Method.logMessage, params);
      }),
      // A document's diagnostics go to the page that opened it, and only there.
      daemon.onDiagnostics((params) => owners.get(params.uri)?.notify(Method.publishDiagnostics, params)),
      daemon.onClose(() => detach(daemon)),
    ];
    daemon.setApplyEditHandler((params) => routeApplyEdit(params, owners));
  };

  const detach = (daemon: NibClient) => {
    if (client !== daemon) return;
    client = undefined;
    for (const s of subscriptions) s.dispose();
    subscriptions = [];
    daemon.setApplyEditHandler(undefined);
    activeProgress.clear();
    // The documents died with the daemon: a page that reconnects at once
    // must be able to open its document again before its old socket is gone.
    owners.clear();
    log(`bridge: the daemon stopped; closing ${wss.clients.size} page(s)`);
    for (const ws of wss.clients) ws.close(daemonStoppedCode, stoppedReason);
  };

  attach(options.client);

  return {
    url: `ws://127.0.0.1:${port}/`,
    port,
    host: listenAddress,
    token,
    allowOrigin: (origin) => void origins.add(origin),
    sessionCount: () => sessions.size,
    close: async () => {
      for (const s of subscriptions) s.dispose();
      client?.setApplyEditHandler(undefined);
      client = undefined;
      for (const ws of wss.clients) ws.terminate();
      for (const session of sessions) session.close();
      sessions.clear();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** Hands workspace/applyEdit to the page that opened the edited document. */
async function routeApplyEdit(params: ApplyWorkspaceEditParams, owners: Map<string, BridgeSession>) {
  const uris = new Set<string>([
    ...Object.keys(params.edit.changes ?? {}),
    ...(params.edit.documentChanges ?? []).map((change) => change.textDocument.uri),
  ]);
  const targets = new Set([...uris].map((uri) => owners.get(uri)));
  const [target] = targets;
  if (targets.size !== 1 || !target) {
    return { applied: false, failureReason: 'bridge: the edit does not belong to exactly one open page' };
  }
  return target.applyEdit(params);
}
