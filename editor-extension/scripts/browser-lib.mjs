// What the browser scripts share: a static server on localhost, headless
// Chromium on its WebGPU, and running nib.wasm in a page's worker.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { chromium } from 'playwright-core';

const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

/** Debian's Chromium on a machine without a GPU runs WebGPU on SwiftShader,
 * its bundled Vulkan on the CPU; the rest keep it off the network, which
 * these machines close. */
export const chromiumArgs = [
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function chromiumPath() {
  const path = process.env.CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(path)) throw new Error(`no Chromium at ${path}: install Debian's chromium package, or set CHROMIUM`);
  return path;
}

export function launchChromium() {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: chromiumArgs });
}

/** A request handler serving mounts: each key is a URL prefix, each value
 * a folder or a file. A missing file under a prefix gets 404 (never a
 * page's fallback: the worker tells a missing optional file by its 404);
 * other requests go to next, or get 404. */
export function staticHandler(mounts) {
  const entries = Object.entries(mounts).sort((a, b) => b[0].length - a[0].length);
  return (req, res, next) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    for (const [prefix, target] of entries) {
      if (path !== prefix && !path.startsWith(prefix.endsWith('/') ? prefix : prefix + '/')) continue;
      let file = target;
      if (statSync(target).isDirectory()) {
        file = normalize(join(target, path.slice(prefix.length)));
        if (file !== target && !file.startsWith(target.endsWith(sep) ? target : target + sep)) return notFound(res);
      }
      if (!existsSync(file) || !statSync(file).isFile()) return notFound(res);
      res.writeHead(200, {
        'content-type': types[extname(file)] ?? 'application/octet-stream',
        'content-length': statSync(file).size,
        'cache-control': 'no-store',
      });
      createReadStream(file).pipe(res);
      return;
    }
    if (next) return next();
    notFound(res);
  };
}

function notFound(res) {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found');
}

/** Serves mounts (see staticHandler) on 127.0.0.1, a secure context, so
 * that WebGPU and Cache Storage work; '/' answers with an empty page.
 * Returns the base URL and close(). */
export async function serveStatic(mounts) {
  const files = staticHandler(mounts);
  const server = createServer((req, res) => {
    if (new URL(req.url ?? '/', 'http://x').pathname === '/') {
      res.writeHead(200, { 'content-type': types['.html'] });
      res.end('<!doctype html><meta charset="utf-8"><title>nib</title>');
      return;
    }
    files(req, res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** Where the scripts serve dist/wasm (build-wasm.mjs) to their pages. */
const assets = { worker: '/nib/nib-worker.js', wasm: '/nib/nib.wasm', wasmExec: '/nib/wasm_exec.js' };

/** Runs nib.wasm in a worker of page with the worker's run message (see
 * src/engine/nib-worker.js; its asset URLs default to dist/wasm served at
 * /nib), relaying its output. Resolves with the exit code, or rejects
 * with the worker's error. */
export async function runInPage(page, run, { onStdout = () => {}, onStderr = () => {}, onProgress = () => {} } = {}) {
  run = { ...assets, ...run };
  await page.exposeFunction('nibEvent', (msg) => {
    if (msg.type === 'stdout') onStdout(msg.text);
    else if (msg.type === 'stderr') onStderr(msg.text);
    else if (msg.type === 'progress') onProgress(msg);
  });
  return page.evaluate(
    (run) =>
      new Promise((resolve, reject) => {
        const worker = new Worker(run.worker);
        // Output relayed before the end is delivered before it.
        const relayed = [];
        worker.onmessage = (e) => {
          const msg = e.data;
          if (msg.type === 'exit') void Promise.all(relayed).then(() => resolve(msg.code));
          else if (msg.type === 'error') void Promise.all(relayed).then(() => reject(new Error(`${msg.kind}: ${msg.message}`)));
          else relayed.push(window.nibEvent(msg));
        };
        worker.onerror = (e) => reject(new Error(`worker: ${e.message}`));
        worker.postMessage({ type: 'run', ...run });
      }),
    run,
  );
}

/** Serves mounts (dist/wasm among them, at /nib), runs `run` in a page of
 * headless Chromium as runInPage does, with the program's stdout and
 * stderr on this process's, and the page's errors on stderr. Resolves with
 * the exit code. */
export async function runInChromium(mounts, run) {
  const server = await serveStatic(mounts);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    page.on('console', (m) => {
      // A missing optional file (the shard index, a tokenizer) shows as a
      // failed load; the worker reports real failures itself.
      if ((m.type() === 'error' || m.type() === 'warning') && !m.text().startsWith('Failed to load resource')) console.error(`[page] ${m.text()}`);
    });
    await page.goto(`${server.url}/`);
    return await runInPage(page, run, { onStdout: (t) => process.stdout.write(t), onStderr: (t) => process.stderr.write(t) });
  } finally {
    await browser.close();
    await server.close();
  }
}

/** Runs a script's main and exits with its status, or 1 with its error
 * on stderr, prefixed by the script's name. */
export function exitWith(name, main) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
