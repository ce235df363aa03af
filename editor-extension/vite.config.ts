import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The demo page. scripts/demo.ts starts this server next to the daemon and
// the bridge; the page learns the bridge's address and token from its URL.
export default defineConfig({
  root: fileURLToPath(new URL('./demo', import.meta.url)),
  // React's automatic JSX runtime through Vite's own transform: no React
  // plugin needed, since the demo has no use for fast refresh.
  oxc: { jsx: { runtime: 'automatic', importSource: 'react' } },
  server: { host: '127.0.0.1' },
  // Pre-bundle every dependency at start-up, so the first page load does not
  // discover one and reload itself halfway through a browser test.
  optimizeDeps: {
    include: ['react', 'react/jsx-runtime', 'react/jsx-dev-runtime', 'react-dom/client', 'slate', 'slate-history', 'slate-react', 'vscode-jsonrpc', 'vscode-jsonrpc/browser'],
  },
  clearScreen: false,
  logLevel: 'warn',
});
