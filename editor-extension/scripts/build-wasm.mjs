// Builds nib for web pages into dist/wasm/: nib.wasm (cmd/lsp with
// GOOS=js GOARCH=wasm), Go's wasm_exec.js, and the worker that runs them
// (src/engine/nib-worker.js). A page needs only that folder.
//
//   node scripts/build-wasm.mjs [--force]
//
// nib.wasm is rebuilt only when it is missing or older than one of the Go
// files, embedded files, go.mod or go.sum it is built from; the other two
// files are copied every time.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const extensionRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = resolve(extensionRoot, '..');
export const wasmDir = join(extensionRoot, 'dist', 'wasm');

const wasmEnv = { ...process.env, GOOS: 'js', GOARCH: 'wasm' };

function go(args, options = {}) {
  const r = spawnSync('go', args, { cwd: repoRoot, env: wasmEnv, encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  if (r.error) throw new Error(`cannot run go: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`go ${args.join(' ')} failed (status ${r.status})${r.stderr ? `:\n${r.stderr}` : ''}`);
  return r.stdout;
}

/** The newest modification time among the module's own inputs to nib.wasm. */
function newestInput() {
  const listing = go(['list', '-deps', '-f', '{{if .Module}}{{if .Module.Main}}{{.Dir}}|{{join .GoFiles "|"}}|{{join .EmbedFiles "|"}}{{end}}{{end}}', './cmd/lsp']);
  let newest = 0;
  for (const name of ['go.mod', 'go.sum']) newest = Math.max(newest, statSync(join(repoRoot, name)).mtimeMs);
  for (const line of listing.split('\n')) {
    const [dir, ...files] = line.split('|');
    if (!dir) continue;
    for (const f of files) if (f) newest = Math.max(newest, statSync(join(dir, f)).mtimeMs);
  }
  return newest;
}

/** Builds what is missing or stale; returns the folder and nib.wasm's sizes. */
export function buildWasm({ force = false, log = (line) => console.error(line) } = {}) {
  mkdirSync(wasmDir, { recursive: true });
  const out = join(wasmDir, 'nib.wasm');
  if (force || !existsSync(out) || statSync(out).mtimeMs < newestInput()) {
    log(`build-wasm: GOOS=js GOARCH=wasm go build -o ${out} ./cmd/lsp`);
    go(['build', '-trimpath', '-ldflags=-s -w', '-o', out, './cmd/lsp'], { stdio: ['ignore', 'pipe', 'inherit'] });
  }
  const goroot = go(['env', 'GOROOT']).trim();
  copyFileSync(join(goroot, 'lib', 'wasm', 'wasm_exec.js'), join(wasmDir, 'wasm_exec.js'));
  copyFileSync(join(extensionRoot, 'src', 'engine', 'nib-worker.js'), join(wasmDir, 'nib-worker.js'));
  const raw = readFileSync(out);
  return { dir: wasmDir, bytes: raw.length, gzipBytes: gzipSync(raw, { level: 9 }).length };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { dir, bytes, gzipBytes } = buildWasm({ force: process.argv.includes('--force') });
    console.log(`${dir}/nib.wasm: ${(bytes / 1e6).toFixed(2)} MB, ${(gzipBytes / 1e6).toFixed(2)} MB gzipped`);
  } catch (err) {
    console.error(`build-wasm: ${err.message}`);
    process.exit(1);
  }
}
