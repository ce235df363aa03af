// The in-page engine's own behaviour, beyond the demo suite that it shares
// with the daemon: models from the hub's resolve URLs (with their sha256
// checked), from the browser's cache with the network off, and the errors
// a page shows for a browser without WebGPU and for models it cannot use.
// Runs with NIB_E2E_ENGINE=browser (vitest.e2e.config.ts).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { defaultModel } from '../../scripts/demo-lib';
import { chromiumArgs, runInPage, serveStatic } from '../../scripts/browser-lib.mjs';
import { buildWasm } from '../../scripts/build-wasm.mjs';
import { screenshot, useDemo } from './harness';
import { caretAtEnd, openDemo, waitForGhost } from './page';

const setup = useDemo();

/** The demo page with nib reaching its model as params say. */
function demoURL(params: Record<string, string>): string {
  const url = new URL(setup.demo.url);
  url.hash = new URLSearchParams({ engine: 'browser', ...params }).toString();
  return url.toString();
}

/** Waits for the page's fatal error and returns its kind and text. */
async function fatal(page: Page): Promise<{ kind: string | null; text: string }> {
  const el = page.locator('[data-testid=fatal]');
  await el.waitFor({ timeout: 120_000 });
  return { kind: await el.getAttribute('data-kind'), text: (await el.textContent()) ?? '' };
}

/** Opens the demo at params in a new page, waits for its fatal error and
 * returns it; the page is saved as screenshot `shot` if given, then closed. */
async function fatalAt(params: Record<string, string>, shot?: string): Promise<{ kind: string | null; text: string }> {
  const page = await setup.browser.context.newPage();
  await page.goto(demoURL(params));
  const err = await fatal(page);
  if (shot) await screenshot(page, shot);
  await page.close();
  return err;
}

/** Runs fn with a hub stand-in (startHub), closing it after. */
async function withHub(options: { cors: boolean; corruptSha?: boolean }, fn: (hub: Hub) => Promise<void>): Promise<void> {
  const hub = await startHub(options);
  try {
    await fn(hub);
  } finally {
    await hub.close();
  }
}

interface Hub {
  endpoint: string;
  requests: string[];
  close(): Promise<void>;
}

/** A stand-in for the Hugging Face hub on another origin: the fixture's
 * files at /{repo}/resolve/{revision}/{file}, model.safetensors with its
 * sha256 as X-Linked-Etag, as the hub sends it. */
async function startHub(options: { cors: boolean; corruptSha?: boolean }): Promise<Hub> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const match = /^\/nib-test\/tiny\/resolve\/main\/([\w.-]+)$/.exec(req.url ?? '');
    const headers: Record<string, string> = {};
    if (options.cors) {
      headers['access-control-allow-origin'] = '*';
      headers['access-control-expose-headers'] = 'x-linked-etag, etag, content-length';
    }
    let body: Buffer | undefined;
    try {
      if (match) body = readFileSync(join(defaultModel, match[1]!));
    } catch {
      body = undefined;
    }
    if (!body) {
      res.writeHead(404, headers);
      res.end('Entry not found');
      return;
    }
    if (match![1] === 'model.safetensors') {
      const sha = createHash('sha256').update(body).digest('hex');
      headers['x-linked-etag'] = `"${options.corruptSha ? sha.replace(/^./, sha[0] === '0' ? '1' : '0') : sha}"`;
    }
    res.writeHead(200, { ...headers, 'content-length': String(body.length) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('the in-page engine', () => {
  it('loads a model again from the browser cache with the network off', async () => {
    const first = await setup.browser.context.newPage();
    await openDemo(first, setup.demo.url);
    await first.close();

    // From here on the model's URLs fail as they would offline.
    let blocked = 0;
    await setup.browser.context.route('**/model/**', (route) => {
      blocked++;
      return route.abort('internetdisconnected');
    });
    try {
      const second = await setup.browser.context.newPage();
      await openDemo(second, setup.demo.url);
      expect(blocked).toBe(0);
      await screenshot(second, 'browser-offline-from-cache');

      // The block is real: with the cache emptied, the same page fails.
      await second.evaluate(() => caches.delete('nib-models-v1'));
      await second.close();
      const third = await setup.browser.context.newPage();
      await third.goto(setup.demo.url);
      const err = await fatal(third);
      expect(err.kind).toBe('network');
      expect(err.text).toContain('/model/config.json');
      expect(blocked).toBeGreaterThan(0);
      await third.close();
    } finally {
      await setup.browser.context.unroute('**/model/**');
    }
  });

  it('loads a model from hub resolve URLs on another origin, checking its sha256', async () => {
    await withHub({ cors: true }, async (hub) => {
      const page = await setup.browser.context.newPage();
      await openDemo(page, demoURL({ hub: 'nib-test/tiny', endpoint: hub.endpoint }));
      expect(hub.requests).toContain('/nib-test/tiny/resolve/main/model.safetensors');
      expect(hub.requests).toContain('/nib-test/tiny/resolve/main/config.json');
      await page.close();
    });
  });

  it('refuses a download whose sha256 differs from the one the hub announced', async () => {
    await withHub({ cors: true, corruptSha: true }, async (hub) => {
      // A new endpoint (its own port), so nothing of it is in the cache.
      const err = await fatalAt({ hub: 'nib-test/tiny', endpoint: hub.endpoint }, 'browser-sha-mismatch');
      expect(err.kind).toBe('model');
      expect(err.text).toMatch(/sha256 [0-9a-f]{64} does not match/);
    });
  });

  it('says when another origin does not allow the page through CORS', async () => {
    await withHub({ cors: false }, async (hub) => {
      const err = await fatalAt({ hub: 'nib-test/tiny', endpoint: hub.endpoint });
      expect(err.kind).toBe('network');
      expect(err.text).toContain('CORS');
      expect(err.text).toContain(hub.endpoint);
    });
  });

  it('shows an error naming the URL for a folder that is not a model', async () => {
    // A hub repository without the file answers 404.
    await withHub({ cors: true }, async (hub) => {
      const err = await fatalAt({ hub: 'nib-test/absent', endpoint: hub.endpoint });
      expect(err.kind).toBe('model');
      expect(err.text).toContain(`${hub.endpoint}/nib-test/absent/resolve/main/config.json: HTTP 404`);
    });

    const err = await fatalAt({ model: '/not-a-model/' }, 'browser-bad-model');
    expect(err.kind).toBe('model');
    // Vite, like many web servers, answers a missing file with its page.
    expect(err.text).toContain('/not-a-model/config.json is an HTML page, not JSON');
    expect(err.text).toContain('model folder');
  });
});

describe('a lost device', () => {
  it('is reopened with the model reloaded, as the daemon does, when the GPU process crashes', async () => {
    const page = await setup.browser.context.newPage();
    await openDemo(page, setup.demo.url);
    // Chromium's GPU process, where WebGPU runs, goes down: every device
    // of every page is lost.
    const cdp = await setup.browser.context.newCDPSession(page);
    await cdp.send('Browser.crashGpuProcess');
    await caretAtEnd(page, 3);
    await page.keyboard.type(' The weather today', { delay: 25 });
    const suggestion = await waitForGhost(page, 180_000);
    expect(suggestion.trim()).not.toBe('');
    await expect.poll(() => page.locator('[data-testid=messages] li').allTextContents()).toContainEqual(expect.stringContaining('the GPU device was lost'));
    await screenshot(page, 'browser-device-lost');
    await page.close();
  });
});

describe('a browser without WebGPU', () => {
  it('shows which browsers have WebGPU and what to enable, before downloading anything', async () => {
    // Chromium without --enable-unsafe-webgpu: navigator.gpu, but no adapter.
    const plain = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      headless: true,
      args: chromiumArgs.filter((a) => !a.includes('webgpu')),
    });
    try {
      const page = await plain.newPage();
      const fetched: string[] = [];
      page.on('request', (r) => fetched.push(r.url()));
      await page.goto(setup.demo.url);
      const err = await fatal(page);
      expect(err.kind).toBe('no-webgpu');
      expect(err.text).toContain('--enable-unsafe-webgpu');
      expect(fetched.filter((u) => u.includes('/model/'))).toEqual([]);
      await screenshot(page, 'browser-no-adapter');
      await page.close();
    } finally {
      await plain.close();
    }
  });

  it('says that WebGPU needs a secure context on a plain-http host', async () => {
    // nib.test resolves to a local server, but as a host other than
    // localhost over http it is not a secure context: no navigator.gpu.
    const { dir } = buildWasm();
    const server = await serveStatic({ '/nib': dir, '/model': defaultModel });
    const insecure = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      headless: true,
      args: [...chromiumArgs, '--host-resolver-rules=MAP nib.test 127.0.0.1'],
    });
    try {
      const page = await insecure.newPage();
      const url = new URL(server.url);
      url.hostname = 'nib.test';
      await page.goto(`${url.origin}/`);
      const run = runInPage(page, { argv: ['nib'], model: { url: '/model/' } });
      await expect(run).rejects.toThrow(/no-webgpu: .*navigator\.gpu is missing.*not a secure context/);
    } finally {
      await insecure.close();
      await server.close();
    }
  });
});
