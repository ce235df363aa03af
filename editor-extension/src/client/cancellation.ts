import { CancellationTokenSource, type CancellationToken } from 'vscode-jsonrpc';

/** A vscode-jsonrpc cancellation token that follows an AbortSignal, so that
 * callers use the web platform's AbortController and the connection still
 * sends $/cancelRequest. Call dispose when the request has settled. */
export function tokenFromSignal(signal: AbortSignal | undefined): { token: CancellationToken | undefined; dispose: () => void } {
  if (!signal) return { token: undefined, dispose: () => {} };
  const source = new CancellationTokenSource();
  const onAbort = () => source.cancel();
  if (signal.aborted) source.cancel();
  else signal.addEventListener('abort', onAbort, { once: true });
  return {
    token: source.token,
    dispose: () => {
      signal.removeEventListener('abort', onAbort);
      source.dispose();
    },
  };
}
