// The fake daemon as a process: `tsx test/fake-server/main.ts --model DIR`,
// LSP on stdio like `nib --model DIR`. Used by the demo (--server fake) and
// the browser tests (NIB_E2E_SERVER=fake).
import { existsSync } from 'node:fs';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { serveFakeNib } from './fake-nib';

const args = process.argv.slice(2);
const modelIndex = args.indexOf('--model');
const model = modelIndex >= 0 ? args[modelIndex + 1] : undefined;
// Like the daemon, refuse a model folder that does not exist, so the demo
// fails the same way with either server.
if (model !== undefined && !existsSync(model)) {
  process.stderr.write(`fake nib: model folder ${model} does not exist\n`);
  process.exit(2);
}
const connection = createMessageConnection(new StreamMessageReader(process.stdin), new StreamMessageWriter(process.stdout));
serveFakeNib(connection, {
  tokenDelayMs: Number(process.env.FAKE_NIB_TOKEN_DELAY_MS ?? 15),
  loadDelayMs: Number(process.env.FAKE_NIB_LOAD_DELAY_MS ?? 100),
  onExit: (code) => process.exit(code),
});
connection.onClose(() => process.exit(0));
connection.listen();
process.stderr.write(`fake nib: serving LSP on stdio (model ${model ?? 'none'})\n`);
