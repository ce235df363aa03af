import { createRoot } from 'react-dom/client';
import { connectNib, type DownloadProgress } from '../src/browser';
import { App } from './App';
import { readConfig } from './config';

const root = createRoot(document.getElementById('root')!);

function showDownload(p: DownloadProgress) {
  const of = p.total > 0 ? ` of ${(p.total / 1e6).toFixed(1)} MB` : '';
  const how = p.cached ? 'from the browser cache' : `${(p.loaded / 1e6).toFixed(1)} MB${of}`;
  root.render(
    <p className="loading" data-testid="download" data-file={p.file} data-cached={String(p.cached)}>
      Loading the model: {p.file}, {how}
    </p>,
  );
}

async function start() {
  const config = readConfig(window.location.hash);
  if (!config) {
    root.render(<p className="fatal">Open the URL that <code>npm run demo</code> printed: it says how to reach nib.</p>);
    return;
  }
  try {
    const transport = config.transport.engine === 'browser' ? { ...config.transport, onProgress: showDownload } : config.transport;
    const client = await connectNib(transport);
    await client.initialize({ clientName: 'nib-demo', ...(config.settings ? { settings: config.settings } : {}) });
    const what = config.transport.engine === 'browser' ? 'nib stopped in this page. Reload it.' : 'The bridge closed the connection. Restart the demo.';
    client.onClose(() => root.render(<p className="fatal" data-testid="disconnected">{what}</p>));
    root.render(<App client={client} />);
  } catch (err) {
    const kind = err instanceof Error && 'kind' in err ? String(err.kind) : 'connect';
    root.render(
      <p className="fatal" data-testid="fatal" data-kind={kind}>
        Cannot start nib: {err instanceof Error ? err.message : String(err)}
      </p>,
    );
  }
}

void start();
