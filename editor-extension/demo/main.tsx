import { createRoot } from 'react-dom/client';
import { connectNib, type DownloadProgress, type NibClient } from '../src/browser';
import { App } from './App';
import { readConfig, type DemoConfig } from './config';
import { ErrorBoundary } from './ErrorBoundary';

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

/** Connects to nib as the URL says and initializes; `onProgress` shows the
 * in-page engine's model download. */
async function connect(config: DemoConfig, onProgress?: (p: DownloadProgress) => void): Promise<NibClient> {
  const transport = config.transport.engine === 'browser' && onProgress ? { ...config.transport, onProgress } : config.transport;
  const client = await connectNib(transport);
  try {
    await client.initialize({ clientName: 'nib-demo', ...(config.settings ? { settings: config.settings } : {}) });
  } catch (err) {
    client.dispose();
    throw err;
  }
  return client;
}

async function start() {
  const config = readConfig(window.location.hash);
  if (!config) {
    root.render(<p className="fatal">Open the URL that <code>npm run demo</code> printed: it says how to reach nib.</p>);
    return;
  }
  try {
    const client = await connect(config, showDownload);
    root.render(
      <ErrorBoundary
        fallback={(error) => (
          <p className="fatal" role="alert" data-testid="fatal" data-kind="page">
            The demo page hit an error: {error.message}. Reload the page.
          </p>
        )}
      >
        <App client={client} reconnect={() => connect(config)} />
      </ErrorBoundary>,
    );
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
