import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** A fresh token for one bridge run: 32 random bytes, URL-safe. */
export function newBridgeToken(): string {
  return randomBytes(32).toString('base64url');
}

export interface UpgradePolicy {
  token: string;
  /** Exact origins allowed, such as "http://127.0.0.1:5173". */
  allowedOrigins: ReadonlySet<string>;
  /** The port the bridge listens on, for the Host check. */
  port: number;
}

export type UpgradeVerdict = { ok: true } | { ok: false; status: 401 | 403 | 404; reason: string };

/**
 * Decides whether a WebSocket handshake may proceed. Any web page can open a
 * WebSocket to 127.0.0.1, so a handshake must show all three of: a Host
 * naming the loopback address (defeats DNS rebinding), an Origin on the
 * allow-list (defeats other sites in the same browser), and the token from
 * this run (defeats other local programs and pages that guessed the port).
 */
export function checkUpgrade(req: Pick<IncomingMessage, 'headers' | 'url'>, policy: UpgradePolicy): UpgradeVerdict {
  const host = req.headers.host;
  const loopbackHosts = [`127.0.0.1:${policy.port}`, `localhost:${policy.port}`];
  if (!host || !loopbackHosts.includes(host.toLowerCase())) {
    return { ok: false, status: 403, reason: `host ${JSON.stringify(host ?? '')} is not the loopback address` };
  }
  const origin = req.headers.origin;
  if (!origin || !policy.allowedOrigins.has(origin)) {
    return { ok: false, status: 403, reason: `origin ${JSON.stringify(origin ?? '')} is not allowed` };
  }
  const url = new URL(req.url ?? '/', 'http://bridge.invalid');
  if (url.pathname !== '/') return { ok: false, status: 404, reason: `no endpoint at ${url.pathname}` };
  const given = url.searchParams.get('token');
  if (!given || !sameSecret(given, policy.token)) return { ok: false, status: 401, reason: 'missing or wrong token' };
  return { ok: true };
}

/** Constant-time comparison, so the token cannot be found byte by byte. */
function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
