// Runs a reference file's cases through nib on a browser page's WebGPU and
// prints the same report as `nib forward`, which it is: cmd/lsp built for
// the browser (nib.wasm), run in a web worker of headless Chromium.
//
//   node scripts/browser-forward.mjs --model DIR --reference FILE [--tolerance 1e-4] [--f16] [--int8]
//
// It builds nib.wasm if it is missing or stale (scripts/build-wasm.mjs),
// serves the model folder and the reference file on localhost, and exits
// with nib forward's status: non-zero when a case is over the tolerance.
// Like nib forward it needs no tokenizer: the reference holds token ids.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildWasm } from './build-wasm.mjs';
import { exitWith, runInChromium } from './browser-lib.mjs';

const usage = 'usage: node scripts/browser-forward.mjs --model DIR --reference FILE [--tolerance 1e-4] [--f16] [--int8]';

async function main() {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      reference: { type: 'string' },
      tolerance: { type: 'string', default: '1e-4' },
      f16: { type: 'boolean', default: false },
      int8: { type: 'boolean', default: false },
    },
  });
  if (!values.model || !values.reference) throw new Error(`--model and --reference are required\n${usage}`);
  const model = resolve(values.model);
  const reference = resolve(values.reference);
  if (!existsSync(model) || !statSync(model).isDirectory()) throw new Error(`--model ${values.model}: not a folder`);
  if (!existsSync(reference) || !statSync(reference).isFile()) throw new Error(`--reference ${values.reference}: not a file`);
  if (!Number.isFinite(Number(values.tolerance))) throw new Error(`--tolerance ${values.tolerance}: not a number`);

  const { dir, gzipBytes } = buildWasm();
  console.error(`browser-forward: nib.wasm is ${(gzipBytes / 1e6).toFixed(2)} MB gzipped`);
  const argv = ['nib', 'forward', '--model', '/model', '--reference', '/reference.safetensors', '--tolerance', values.tolerance];
  if (values.f16) argv.push('--f16');
  if (values.int8) argv.push('--int8');
  return runInChromium(
    { '/nib': dir, '/model': model, '/reference.safetensors': reference },
    { argv, model: { url: '/model/' }, files: { '/reference.safetensors': '/reference.safetensors' } },
  );
}

exitWith('browser-forward', main);
