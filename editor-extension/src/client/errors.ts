import { ResponseError } from 'vscode-jsonrpc';
import { ErrorCode } from '../protocol';

/** True when `err` is the daemon's answer to a cancelled or superseded
 * request (-32800), or a request the caller aborted before it was sent. */
export function isCancelled(err: unknown): boolean {
  if (err instanceof ResponseError) return err.code === ErrorCode.RequestCancelled;
  if (err instanceof Error && err.name === 'AbortError') return true;
  return errorCode(err) === ErrorCode.RequestCancelled;
}

/** The JSON-RPC error code carried by `err`, if any. Duck-typed because a
 * browser bundle and Node may hold two copies of ResponseError. */
export function errorCode(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

/** The error thrown when a request's AbortSignal fired before it was sent. */
export function abortError(): Error {
  const err = new Error('nib: request aborted');
  err.name = 'AbortError';
  return err;
}
