import { AbstractMessageWriter, type Message, type MessageConnection, type MessageReader, type MessageWriter } from 'vscode-jsonrpc';
import { JsonMessageReader } from './json-reader';

/** The part of a WebSocket (the browser's, or the `ws` package's) that the
 * transport uses. One JSON-RPC message travels as one text frame, so no
 * Content-Length framing is needed on this leg. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: { data?: unknown; code?: number; reason?: string }) => void): void;
}

const CONNECTING = 0;
const OPEN = 1;
/** Close codes of an orderly close: a normal one, or one without a code
 * (what a plain close() sends). Any other is worth telling the user. */
const orderlyCloseCodes = new Set([1000, 1005]);

export class WebSocketMessageReader extends JsonMessageReader {
  constructor(socket: WebSocketLike) {
    super('bridge');
    // String(): a text frame's data, as the bridge always sends.
    socket.addEventListener('message', (event) => this.receive(String(event.data)));
    socket.addEventListener('error', () => this.fireError(new Error('nib: WebSocket error')));
    socket.addEventListener('close', (event) => {
      // The bridge names why it closed a page (its daemon stopped); passing
      // that on as the last error lets NibClient.onClose tell the user.
      if (event.reason) this.fireError(new Error(event.reason));
      else if (event.code !== undefined && !orderlyCloseCodes.has(event.code)) this.fireError(new Error(`nib: the connection to the bridge dropped (code ${event.code})`));
      this.fireClose();
    });
  }
}

export class WebSocketMessageWriter extends AbstractMessageWriter implements MessageWriter {
  private readonly opened: Promise<void>;

  constructor(private readonly socket: WebSocketLike) {
    super();
    // Writes made while the handshake is still going wait for it.
    this.opened = whenOpen(socket).catch(() => undefined);
  }

  async write(message: Message): Promise<void> {
    if (this.socket.readyState === CONNECTING) await this.opened;
    if (this.socket.readyState !== OPEN) {
      const err = new Error('nib: the bridge WebSocket is not open');
      this.fireError([err, message, undefined]);
      throw err;
    }
    this.socket.send(JSON.stringify(message));
  }

  end(): void {
    this.socket.close();
  }
}

/** Resolves once the socket is open; rejects if it closes first (a refused
 * token or Origin ends the handshake with an HTTP error). */
export function whenOpen(socket: WebSocketLike): Promise<void> {
  if (socket.readyState === OPEN) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve());
    socket.addEventListener('close', () => reject(new Error('nib: the bridge refused or closed the connection')));
    socket.addEventListener('error', () => reject(new Error('nib: cannot reach the bridge')));
  });
}

type CreateConnection = (reader: MessageReader, writer: MessageWriter) => MessageConnection;

/** A MessageConnection over a WebSocket. Make it as soon as the socket
 * exists, before it opens: the bridge may send (model-loading progress)
 * right after the handshake, and the reader must already be listening.
 * `create` is vscode-jsonrpc's createMessageConnection from its browser or
 * node entry, whichever the caller runs in. */
export function connectionOverWebSocket(socket: WebSocketLike, create: CreateConnection): MessageConnection {
  return create(new WebSocketMessageReader(socket), new WebSocketMessageWriter(socket));
}
