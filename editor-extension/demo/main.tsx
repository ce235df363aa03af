import { createRoot } from 'react-dom/client';
import { connectToBridge } from '../src/browser';
import { App } from './App';
import { readConfig } from './config';

const root = createRoot(document.getElementById('root')!);

async function start() {
  const config = readConfig(window.location.hash);
  if (!config) {
    root.render(<p className="fatal">Open the URL that <code>npm run demo</code> printed: it carries the bridge address and token.</p>);
    return;
  }
  try {
    const client = await connectToBridge(config.bridge, config.token);
    await client.initialize({ clientName: 'nib-demo' });
    client.onClose(() => root.render(<p className="fatal" data-testid="disconnected">The bridge closed the connection. Restart the demo.</p>));
    root.render(<App client={client} />);
  } catch (err) {
    root.render(<p className="fatal" data-testid="fatal">Cannot reach nib: {String(err)}</p>);
  }
}

void start();
