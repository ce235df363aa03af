import { AbstractMessageWriter, type Message, type MessageConnection, type MessageReader, type MessageWriter } from 'vscode-jsonrpc';
import { JsonMessageReader } from './json-reader';

/** The part of a MessagePort that the transport uses. One JSON-RPC message
 * travels as one port message, as JSON text, so no Content-Length framing
 * is needed on this leg either (nib's server.ServeMessages reads them). */
export interface MessagePortLike {
  postMessage(data: string): void;
  addEventListener(type: 'message', listener: (event: { data?: unknown }) => void): void;
  start?(): void;
  close(): void;
}

export class PortMessageReader extends JsonMessageReader {
  constructor(port: MessagePortLike) {
    super('worker');
    port.addEventListener('message', (event) => this.receive(event.data));
    // addEventListener, unlike onmessage, needs start() to deliver.
    port.start?.();
  }

  /** Ends the connection: the worker behind the port is gone. */
  closed(): void {
    this.fireClose();
  }
}

export class PortMessageWriter extends AbstractMessageWriter implements MessageWriter {
  private ended = false;

  constructor(private readonly port: MessagePortLike) {
    super();
  }

  async write(message: Message): Promise<void> {
    if (this.ended) {
      const err = new Error('nib: the engine has stopped');
      this.fireError([err, message, undefined]);
      throw err;
    }
    this.port.postMessage(JSON.stringify(message));
  }

  end(): void {
    this.ended = true;
    this.port.close();
  }
}

type CreateConnection = (reader: MessageReader, writer: MessageWriter) => MessageConnection;

/** A MessageConnection over a MessagePort, and a function that closes it
 * from outside (when the worker ends). `create` is vscode-jsonrpc's
 * createMessageConnection from its browser entry. */
export function connectionOverPort(port: MessagePortLike, create: CreateConnection): { connection: MessageConnection; closed: () => void } {
  const reader = new PortMessageReader(port);
  const writer = new PortMessageWriter(port);
  return { connection: create(reader, writer), closed: () => reader.closed() };
}
