// npm run demo -- [--engine daemon|browser] [--model PATH] [--server real|fake] [--port N] [--bridge-port N] [--settings JSON]
//
// Starts the nib daemon on a model folder, the WebSocket bridge and the demo
// page's Vite server, then prints the URL to open (it opens nothing itself).
// The daemon is $NIB_BINARY, else built with `go build` from the repository
// root; --server fake (or NIB_SERVER=fake) runs the test stand-in instead.
// --engine browser starts no daemon: the page runs nib.wasm (built if
// stale) in a web worker on its own WebGPU, with the model folder served
// beside it.
import { parseArgs } from 'node:util';
import { defaultModel, startDemo, type EngineKind, type ServerKind } from './demo-lib';

const { values } = parseArgs({
  options: {
    engine: { type: 'string', default: 'daemon' },
    model: { type: 'string', default: defaultModel },
    server: { type: 'string', default: process.env.NIB_SERVER ?? 'real' },
    port: { type: 'string', default: '5173' },
    'bridge-port': { type: 'string', default: '0' },
    settings: { type: 'string' },
  },
});

if (values.server !== 'real' && values.server !== 'fake') {
  console.error(`demo: --server must be real or fake, not ${values.server}`);
  process.exit(2);
}

if (values.engine !== 'daemon' && values.engine !== 'browser') {
  console.error(`demo: --engine must be daemon or browser, not ${values.engine}`);
  process.exit(2);
}

const log = (line: string) => console.error(line);
try {
  const demo = await startDemo({
    model: values.model,
    engine: values.engine as EngineKind,
    server: values.server as ServerKind,
    port: Number(values.port),
    bridgePort: Number(values['bridge-port']),
    ...(values.settings ? { settings: JSON.parse(values.settings) } : {}),
    log,
    onDaemonExit: (code) => console.error(`demo: the daemon exited (${code}); the page's Reconnect starts a new one`),
  });
  // stdout carries exactly this line, so scripts can read the URL.
  console.log(`nib demo ready: ${demo.url}`);
  const stop = () => {
    void demo.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (err) {
  console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
