import { AbstractMessageReader, type DataCallback, type Disposable, type Message, type MessageReader } from 'vscode-jsonrpc';

/** A reader for transports that carry one JSON-RPC message per event (the
 * bridge's WebSocket, the worker's MessagePort): it parses each, reports
 * what is not a JSON object, and keeps messages that arrive before
 * listen() instead of dropping them. `source` names the other end in
 * errors. */
export class JsonMessageReader extends AbstractMessageReader implements MessageReader {
  private callback: DataCallback | undefined;
  private readonly queue: Message[] = [];

  constructor(private readonly source: string) {
    super();
  }

  /** Takes one event's data: JSON text, or an object already parsed. */
  protected receive(data: unknown): void {
    let message: unknown;
    try {
      message = typeof data === 'string' ? JSON.parse(data) : data;
    } catch (err) {
      this.fireError(new Error(`nib: malformed JSON from the ${this.source}: ${String(err)}`));
      return;
    }
    if (typeof message !== 'object' || message === null) {
      this.fireError(new Error(`nib: a ${this.source} message is not a JSON object`));
      return;
    }
    if (this.callback) this.callback(message as Message);
    else this.queue.push(message as Message);
  }

  listen(callback: DataCallback): Disposable {
    this.callback = callback;
    for (const message of this.queue.splice(0)) callback(message);
    return { dispose: () => (this.callback = undefined) };
  }
}
