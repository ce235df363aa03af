// Starts `scripts/demo.ts` as a process and Chromium through playwright-core.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { extensionRoot } from '../../scripts/demo-lib';

/** Which daemon the demo runs: NIB_E2E_SERVER=fake (the default while the
 * daemon is being built) or real. */
export const serverKind = process.env.NIB_E2E_SERVER === 'real' ? 'real' : 'fake';

/** Where nib runs: NIB_E2E_ENGINE=browser runs nib.wasm in the page on
 * Chromium's WebGPU (SwiftShader) with no daemon at all; otherwise the
 * daemon of NIB_E2E_SERVER. */
export const engineKind = process.env.NIB_E2E_ENGINE === 'browser' ? 'browser' : 'daemon';

/** What the suite runs against, for its name and its results folder. */
export const targetName = engineKind === 'browser' ? 'in-page browser engine' : `${serverKind} daemon`;

export const resultsDir = join(extensionRoot, 'test-results', engineKind === 'browser' ? 'browser' : serverKind);

/** Settings for the daemon under test. The fixture model's output is noise
 * that runs to the token limit, and lavapipe is slow: short limits keep a
 * browser test within seconds while still streaming several tokens. */
export const daemonSettings = process.env.NIB_E2E_SETTINGS ?? JSON.stringify({ completion: { maxTokens: 8 }, rewrite: { maxTokens: 16 } });

/** How long to wait for a model answer: the real daemon on a software GPU
 * takes seconds, the fake milliseconds. */
export const answerTimeoutMs = serverKind === 'real' || engineKind === 'browser' ? 90_000 : 10_000;

/** How long the page may take to show the effect of a click or a key. The
 * in-page engine runs the model in a worker and SwiftShader beside it, on
 * the same few CPUs as the page (checking starts as soon as the document
 * opens), so there the page's own thread can wait seconds for a turn. */
export const uiTimeoutMs = engineKind === 'browser' ? 30_000 : 5_000;

export interface DemoProcess {
  url: string;
  log: () => string;
  /** The pid of the daemon the demo runs now (it starts a new one when a
   * page reconnects after the daemon died). */
  daemonPid(): number;
  stop(): Promise<void>;
}

/** Runs the demo exactly as `npm run demo` does and reads its URL. */
export async function startDemoProcess(settings = daemonSettings): Promise<DemoProcess> {
  const args = ['--import', import.meta.resolve('tsx'), join(extensionRoot, 'scripts/demo.ts'), '--engine', engineKind, '--server', serverKind, '--port', '0'];
  if (process.env.NIB_E2E_MODEL) args.push('--model', process.env.NIB_E2E_MODEL);
  args.push('--settings', settings);
  const child: ChildProcess = spawn(process.execPath, args, { cwd: extensionRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /nib demo ready: (\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`demo exited with ${code} before it was ready:\n${log}`)));
  });
  return {
    url,
    log: () => log,
    daemonPid: () => {
      const pids = [...log.matchAll(/demo: daemon started, pid (\d+)/g)];
      const last = pids[pids.length - 1];
      if (!last) throw new Error(`the demo has not logged a daemon pid:\n${log}`);
      return Number(last[1]);
    },
    stop: async () => {
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      });
      // The demo's log (daemon and bridge) is an artifact like the screenshots.
      mkdirSync(resultsDir, { recursive: true });
      writeFileSync(join(resultsDir, 'demo.log'), log);
    },
  };
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Debian's Chromium with a fresh profile; no browser download involved.
 * WebGPU runs on SwiftShader, Chromium's own CPU Vulkan, for the browser
 * engine. */
export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'nib-e2e-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1000, height: 760 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--enable-unsafe-webgpu',
      '--use-webgpu-adapter=swiftshader',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, `${name}.png`);
  // With the engine in the page, Chromium's GPU process also runs the
  // model's long dispatches, and a screenshot waits its turn there.
  await page.screenshot({ path, fullPage: true, timeout: engineKind === 'browser' ? answerTimeoutMs : 30_000 });
  return path;
}

/** Starts the demo process and Chromium once for the calling test file,
 * stopping both after it; read them through the returned object. `extra`
 * settings are merged over daemonSettings. */
export function useDemo(extra: Record<string, unknown> = {}): { readonly demo: DemoProcess; readonly browser: Browser } {
  let demo: DemoProcess | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    demo = await startDemoProcess(JSON.stringify({ ...(JSON.parse(daemonSettings) as object), ...extra }));
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
  });
  return {
    get demo() {
      return demo!;
    },
    get browser() {
      return browser!;
    },
  };
}
