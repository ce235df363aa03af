import { spawn, type ChildProcess } from 'node:child_process';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { NibClient } from '../client/nib-client';

export interface StartNibOptions {
  /** The executable: the nib binary, or `node` for the fake server. */
  command: string;
  /** Arguments before `--model`; empty for the nib binary, which serves
   * LSP on stdio when given no subcommand. */
  args?: string[];
  /** Model folder or hub id, passed as `--model`. */
  model?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Where the daemon's log (its stderr) goes; stdout is the protocol. */
  onStderr?: (chunk: string) => void;
}

/** A running daemon with a client connected to its stdio. */
export interface NibProcess {
  client: NibClient;
  child: ChildProcess;
  /** Resolves with the exit code (or the signal's name) once it has exited. */
  exited: Promise<number | string>;
  /** shutdown + exit, then SIGTERM and SIGKILL if it lingers. */
  stop(timeoutMs?: number): Promise<number | string>;
}

/** Starts the daemon and connects a NibClient to its stdin/stdout. The
 * caller still has to call client.initialize(). */
export function startNib(options: StartNibOptions): NibProcess {
  const args = [...(options.args ?? [])];
  if (options.model !== undefined) args.push('--model', options.model);
  const child = spawn(options.command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    // A missing binary never exits: it fails to spawn.
    child.once('error', (err) => {
      options.onStderr?.(`nib: cannot start ${options.command}: ${err.message}\n`);
      resolve('spawn-error');
    });
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => (options.onStderr ?? ((c: string) => process.stderr.write(c)))(chunk));
  if (!child.stdout || !child.stdin) throw new Error('nib: daemon started without stdio pipes');
  // Writing to a daemon that died raises EPIPE on stdin; the connection
  // reports the failure through its pending requests instead.
  child.stdin.on('error', () => {});
  const connection = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  const client = new NibClient(connection);
  void exited.then(() => connection.dispose());

  const stop = async (timeoutMs = 5000): Promise<number | string> => {
    if (child.exitCode === null && child.signalCode === null && !client.isClosed) {
      await withTimeout(client.shutdown(), timeoutMs).catch(() => undefined);
    }
    const exitedWithin = (ms: number) => withTimeout(exited, ms).then(() => true, () => false);
    if (!(await exitedWithin(timeoutMs))) {
      child.kill('SIGTERM');
      if (!(await exitedWithin(timeoutMs))) child.kill('SIGKILL');
    }
    return exited;
  };
  return { client, child, exited, stop };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
