// Runs `nib bench` on a browser page's WebGPU: nib.wasm in a web worker of
// headless Chromium (SwiftShader on a machine without a GPU), printing
// bench's JSON on stdout like the native command.
//
//   node scripts/browser-bench.mjs --config ../../shared/configs/flan-t5-small --random-weights --only decode,ttft
//
// Every argument goes to nib bench; a --config or --model path on this
// machine is served to the page and mounted for it. With --wasm FILE
// first, FILE runs instead of nib.wasm, with the other arguments: a test
// binary's benchmarks, say (GOOS=js GOARCH=wasm go test -c ./gpu):
//
//   node scripts/browser-bench.mjs --wasm gpu.test -test.run '^$' -test.bench DecodeChain
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildWasm } from './build-wasm.mjs';
import { exitWith, runInChromium } from './browser-lib.mjs';

async function main() {
  let args = process.argv.slice(2);
  const mounts = {};
  const run = { files: {} };
  let argv0 = ['nib', 'bench'];
  if (args[0] === '--wasm' && args[1]) {
    mounts['/program.wasm'] = resolve(args[1]);
    run.wasm = '/program.wasm';
    argv0 = ['program'];
    args = args.slice(2);
  }
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--config' && args[i + 1]) {
      let file = resolve(args[i + 1]);
      if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'config.json');
      mounts['/config.json'] = file;
      run.files['/config/config.json'] = '/config.json';
      args[++i] = '/config/config.json';
    } else if (args[i] === '--model' && args[i + 1]) {
      mounts['/model'] = resolve(args[i + 1]);
      run.model = { url: '/model/' };
      args[++i] = '/model';
    }
  }
  const { dir } = buildWasm();
  return runInChromium({ '/nib': dir, ...mounts }, { ...run, argv: [...argv0, ...args] });
}

exitWith('browser-bench', main);
