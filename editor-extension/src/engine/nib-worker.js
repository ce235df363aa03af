// nib's web worker: runs nib.wasm (cmd/lsp built with GOOS=js GOARCH=wasm)
// on the page's own WebGPU. A classic worker script with no imports, so
// that any page can start it as is, with or without a bundler.
//
// The page posts one message to start it:
//
//   { type: 'run', argv: ['nib', '--model', '/model'], wasm: URL,
//     wasmExec: URL, model?: ModelSource, files?: { '/path': URL },
//     env?: { NAME: 'value' }, port?: MessagePort }
//
// The worker fetches the model (ModelSource: { url } of a Hugging
// Face-layout folder, or { hub, endpoint?, revision? }) and the extra
// files, keeping them in Cache Storage so that a second visit works
// offline, and mounts them read-only at /model and at the given paths for
// the Go program's os package. It then runs argv; `nib` with no command
// serves LSP over `port`, one JSON-RPC message per port message.
//
// The worker posts back:
//   { type: 'progress', file, loaded, total, cached }   while fetching
//   { type: 'stdout' | 'stderr', text }                  the program's output
//   { type: 'started' }                                  once Go runs
//   { type: 'exit', code }                               when it ends
//   { type: 'error', kind, message }                     when it cannot run:
//     kind is 'no-webgpu', 'model', 'network', 'wasm' or 'internal'
'use strict';

const CACHE_NAME = 'nib-models-v1';
const MANIFEST = 'nib-manifest.json';

/** An error with a kind the page can act on. */
class NibError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

function post(msg) {
  self.postMessage(msg);
}

// ---- Fetching models -----------------------------------------------------

/** Base URL of a model source, ending in a slash: files resolve against it. */
function modelBase(source) {
  if (source.url) {
    const u = new URL(source.url, self.location.href);
    if (!u.pathname.endsWith('/')) u.pathname += '/';
    return u.href;
  }
  if (source.hub) {
    if (!/^[\w.-]+(\/[\w.-]+)?$/.test(source.hub)) {
      throw new NibError('model', `model: ${JSON.stringify(source.hub)} is not a Hugging Face hub id (owner/name)`);
    }
    const endpoint = (source.endpoint || 'https://huggingface.co').replace(/\/+$/, '');
    const revision = encodeURIComponent(source.revision || 'main');
    return `${endpoint}/${source.hub}/resolve/${revision}/`;
  }
  throw new NibError('model', 'model: give either { url } of a model folder or { hub } of a Hugging Face hub id');
}

/** The sha256 the server vouches for, where it gives one: the hub sends a
 * large file's sha256 as its X-Linked-Etag (or ETag, for files in LFS). */
function announcedSha256(response) {
  for (const name of ['x-linked-etag', 'etag']) {
    const v = (response.headers.get(name) || '').replace(/^W\//, '').replace(/"/g, '');
    if (/^[0-9a-f]{64}$/.test(v)) return v;
  }
  return '';
}

async function sha256Hex(blob) {
  const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

function crossOrigin(url) {
  return new URL(url).origin !== self.location.origin;
}

/** Fetches url, or says why not in words that point at the fix. A missing
 * file resolves to null when optional. */
async function fetchChecked(url, optional) {
  let response;
  try {
    response = await fetch(url, { credentials: 'same-origin' });
  } catch (err) {
    if (crossOrigin(url)) {
      throw new NibError('network', `model: cannot fetch ${url}: the server is unreachable, or it is on another origin ` +
        `(${new URL(url).origin}) and does not allow this page's (${self.location.origin}) through CORS ` +
        `(it must send Access-Control-Allow-Origin); serving the model folder from the page's own origin avoids CORS (${err})`);
    }
    throw new NibError('network', `model: cannot fetch ${url}: ${err} (is the server up, or the browser offline?)`);
  }
  if (response.status === 404 && optional) return null;
  if (!response.ok) {
    let hint = '';
    if (response.status === 404) hint = ': not a Hugging Face-layout model folder, or the wrong URL';
    if (response.status === 401 || response.status === 403) hint = ': the model is private or gated, or the server refuses this page';
    throw new NibError('model', `model: ${url}: HTTP ${response.status} ${response.statusText}${hint}`);
  }
  return response;
}

/** Reads a response's body, posting progress, into a Blob. */
async function readBody(response, file) {
  const total = Number(response.headers.get('content-length')) || 0;
  if (!response.body) return response.blob();
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  let last = 0;
  post({ type: 'progress', file, loaded, total, cached: false });
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.byteLength;
    const now = performance.now();
    if (now - last > 100) {
      post({ type: 'progress', file, loaded, total, cached: false });
      last = now;
    }
  }
  post({ type: 'progress', file, loaded, total: total || loaded, cached: false });
  return new Blob(chunks);
}

async function openCache() {
  // Cache Storage exists only in secure contexts (https, localhost).
  if (!self.caches) return null;
  try {
    return await caches.open(CACHE_NAME);
  } catch {
    return null;
  }
}

/** One file of the model from the cache, reported as progress, or null. */
async function fromCache(cache, base, name) {
  const hit = cache && (await cache.match(base + name));
  if (!hit) return null;
  const blob = await hit.blob();
  post({ type: 'progress', file: name, loaded: blob.size, total: blob.size, cached: true });
  return blob;
}

/** One file of the model: from the cache, else fetched, checked and kept. */
async function modelFile(cache, base, name, optional) {
  const url = base + name;
  const cached = await fromCache(cache, base, name);
  if (cached) return cached;
  const response = await fetchChecked(url, optional);
  if (!response) return null;
  const want = announcedSha256(response);
  const blob = await readBody(response, name);
  if (want) {
    const got = await sha256Hex(blob);
    if (got !== want) {
      throw new NibError('model', `model: ${url}: sha256 ${got} does not match the ${want} the server announced; the download is corrupt, try again`);
    }
  }
  if (cache) {
    await cache.put(url, new Response(blob, { headers: { 'content-length': String(blob.size) } })).catch((err) => {
      post({ type: 'stderr', text: `nib: cannot keep ${name} in the browser's cache (${err}); the next visit downloads it again\n` });
    });
  }
  return blob;
}

/** Fetches a model folder: config.json, model.safetensors or its shards
 * (model.safetensors.index.json), and tokenizer.json or spiece.model
 * where there is one (nib forward needs none). Returns name -> Blob.
 * A manifest of the names is cached last, so a second visit knows which
 * files to take from the cache without asking the network. */
async function fetchModel(source) {
  const base = modelBase(source);
  const cache = await openCache();
  if (cache) {
    const hit = await cache.match(base + MANIFEST);
    if (hit) {
      try {
        const names = await hit.json();
        const files = {};
        for (const name of names) {
          files[name] = await fromCache(cache, base, name);
          if (!files[name]) throw new Error(`${name} is gone from the cache`);
        }
        return files;
      } catch {
        // A partial entry: fetch again below.
      }
    }
  }
  const files = {};
  files['config.json'] = await modelFile(cache, base, 'config.json', false);
  const configText = await files['config.json'].text();
  try {
    JSON.parse(configText);
  } catch (err) {
    // A web app's server answers a missing file with its own page.
    const what = /^\s*</.test(configText) ? 'an HTML page, not JSON (a web server\'s fallback for a missing file?)' : `not JSON (${err.message})`;
    throw new NibError('model', `model: ${base}config.json is ${what}; is ${base} a Hugging Face-layout model folder?`);
  }
  const index = await modelFile(cache, base, 'model.safetensors.index.json', true);
  if (index) {
    files['model.safetensors.index.json'] = index;
    let shards;
    try {
      shards = [...new Set(Object.values(JSON.parse(await index.text()).weight_map || {}))];
    } catch (err) {
      throw new NibError('model', `model: ${base}model.safetensors.index.json: ${err.message}`);
    }
    if (shards.length === 0) throw new NibError('model', `model: ${base}model.safetensors.index.json has no weight_map`);
    for (const shard of shards) {
      if (!/^[\w.-]+$/.test(shard)) throw new NibError('model', `model: ${base}model.safetensors.index.json names a shard outside the folder: ${shard}`);
      files[shard] = await modelFile(cache, base, shard, false);
    }
  } else {
    const single = await modelFile(cache, base, 'model.safetensors', true);
    if (!single) {
      throw new NibError('model', `model: ${base} has neither model.safetensors nor model.safetensors.index.json ` +
        '(nib reads safetensors only; convert pytorch_model.bin first)');
    }
    files['model.safetensors'] = single;
  }
  for (const name of ['tokenizer.json', 'spiece.model']) {
    const tok = await modelFile(cache, base, name, true);
    if (tok) {
      files[name] = tok;
      break;
    }
  }
  if (cache) await cache.put(base + MANIFEST, new Response(JSON.stringify(Object.keys(files)))).catch(() => undefined);
  return files;
}

// ---- A read-only file system for Go's os package ---------------------------
// Go's syscall package on js calls Node's callback-style fs API on
// globalThis.fs. This one serves Blobs mounted at absolute paths, and sends
// writes to stdout and stderr to the page.

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

function fsError(code, message) {
  const err = new Error(message);
  err.code = code;
  return err;
}

function installFS(mounts) {
  const files = new Map(); // path -> Blob
  const dirs = new Map([['/', new Set()]]); // path -> entry names
  for (const [path, blob] of Object.entries(mounts)) {
    const parts = path.split('/').filter(Boolean);
    let dir = '/';
    for (let i = 0; i < parts.length; i++) {
      const child = (dir === '/' ? '' : dir) + '/' + parts[i];
      dirs.get(dir).add(parts[i]);
      if (i === parts.length - 1) files.set(child, blob);
      else if (!dirs.has(child)) dirs.set(child, new Set());
      dir = child;
    }
  }
  const fds = new Map();
  let nextFD = 3;
  const decoder = new TextDecoder();
  const clean = (p) => '/' + p.split('/').filter((s) => s && s !== '.').join('/');
  const stat = (path) => {
    const isDir = dirs.has(path);
    const blob = files.get(path);
    if (!isDir && !blob) return null;
    const size = isDir ? 0 : blob.size;
    return {
      dev: 1, ino: 0, mode: isDir ? S_IFDIR | 0o555 : S_IFREG | 0o444, nlink: 1, uid: 0, gid: 0, rdev: 0,
      size, blksize: 4096, blocks: Math.ceil(size / 512), atimeMs: 0, mtimeMs: 0, ctimeMs: 0,
      isDirectory: () => isDir,
    };
  };
  const enosys = (...args) => args[args.length - 1](fsError('ENOSYS', 'not supported'));
  const erofs = (...args) => args[args.length - 1](fsError('EROFS', 'read-only file system'));
  globalThis.fs = {
    constants: { O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2, O_CREAT: 64, O_EXCL: 128, O_TRUNC: 512, O_APPEND: 1024, O_DIRECTORY: 65536 },
    writeSync(fd, buf) {
      post({ type: fd === 2 ? 'stderr' : 'stdout', text: decoder.decode(buf) });
      return buf.length;
    },
    write(fd, buf, offset, length, position, callback) {
      if (fd !== 1 && fd !== 2) return callback(fsError('EBADF', 'bad file descriptor'));
      callback(null, this.writeSync(fd, buf.subarray(offset, offset + length)));
    },
    open(path, flags, mode, callback) {
      const p = clean(path);
      if (flags & (1 | 2 | 64 | 512 | 1024)) return callback(fsError(stat(p) ? 'EROFS' : 'ENOENT', `${p}: read-only file system`));
      if (!stat(p)) return callback(fsError('ENOENT', `${p}: no such file or directory`));
      const fd = nextFD++;
      fds.set(fd, { path: p, pos: 0 });
      callback(null, fd);
    },
    close(fd, callback) {
      callback(fds.delete(fd) ? null : fsError('EBADF', 'bad file descriptor'));
    },
    fstat(fd, callback) {
      const f = fds.get(fd);
      if (!f) return callback(fsError('EBADF', 'bad file descriptor'));
      callback(null, stat(f.path));
    },
    stat(path, callback) {
      const s = stat(clean(path));
      callback(s ? null : fsError('ENOENT', `${path}: no such file or directory`), s);
    },
    lstat(path, callback) {
      this.stat(path, callback);
    },
    readdir(path, callback) {
      const d = dirs.get(clean(path));
      if (!d) return callback(fsError('ENOTDIR', `${path}: not a directory`));
      callback(null, [...d].sort());
    },
    read(fd, buffer, offset, length, position, callback) {
      const f = fds.get(fd);
      if (!f) return callback(fsError('EBADF', 'bad file descriptor'));
      const blob = files.get(f.path);
      if (!blob) return callback(fsError('EISDIR', `${f.path}: is a directory`));
      const at = position === null || position === undefined ? f.pos : Number(position);
      blob
        .slice(at, at + length)
        .arrayBuffer()
        .then((ab) => {
          buffer.set(new Uint8Array(ab), offset);
          if (position === null || position === undefined) f.pos += ab.byteLength;
          callback(null, ab.byteLength);
        }, (err) => callback(fsError('EIO', String(err))));
    },
    fsync(fd, callback) {
      callback(null);
    },
    chmod: erofs, chown: erofs, fchmod: erofs, fchown: erofs, ftruncate: erofs, lchown: erofs, link: erofs,
    mkdir: erofs, rename: erofs, rmdir: erofs, symlink: erofs, truncate: erofs, unlink: erofs, utimes: erofs,
    readlink: enosys,
  };
  globalThis.process = {
    getuid: () => -1, getgid: () => -1, geteuid: () => -1, getegid: () => -1, getgroups: () => [], pid: 1, ppid: 0,
    umask: () => 0o022, cwd: () => '/', chdir: () => { throw fsError('ENOSYS', 'not supported'); },
  };
}

// ---- Running nib.wasm -------------------------------------------------------

async function run(msg) {
  // Before any download: a model is no use without a GPU to run it on.
  // (nib says the same over the protocol, from gpu.ErrNoWebGPU and
  // gpu.ErrNoAdapter, should the adapter go later.)
  if (!self.navigator.gpu) {
    const insecure = self.isSecureContext ? '' : ` This page (${self.location.origin}) is not a secure context, and browsers offer WebGPU only to https and localhost pages.`;
    throw new NibError('no-webgpu', 'this browser offers no WebGPU (navigator.gpu is missing): use Chrome or Edge 113 or later ' +
      '(on Linux, enable chrome://flags/#enable-unsafe-webgpu or start it with --enable-unsafe-webgpu), Safari 26 or later, ' +
      'or Firefox 141 or later on Windows (elsewhere set dom.webgpu.enabled in about:config).' + insecure);
  }
  if (!(await self.navigator.gpu.requestAdapter({ powerPreference: 'high-performance' }))) {
    throw new NibError('no-webgpu', 'this browser has WebGPU but offered no adapter: its GPU may be blocklisted (see chrome://gpu), ' +
      'or WebGPU may be off: enable chrome://flags/#enable-unsafe-webgpu, or start Chromium with --enable-unsafe-webgpu ' +
      '(and --use-webgpu-adapter=swiftshader for its CPU adapter)');
  }
  const mounts = {};
  if (msg.model) {
    const files = await fetchModel(msg.model);
    for (const [name, blob] of Object.entries(files)) mounts['/model/' + name] = blob;
  }
  for (const [path, url] of Object.entries(msg.files || {})) {
    const response = await fetchChecked(new URL(url, self.location.href).href, false);
    mounts[path] = await response.blob();
  }
  installFS(mounts);
  importScripts(new URL(msg.wasmExec, self.location.href).href);
  const go = new self.Go();
  go.argv = msg.argv || ['nib'];
  go.env = Object.assign({ HOME: '/home' }, msg.env || {});
  let code = 0;
  go.exit = (c) => {
    code = c;
  };
  if (msg.port) self.nibPort = msg.port;
  let instance;
  try {
    const response = fetch(new URL(msg.wasm, self.location.href).href);
    ({ instance } = await WebAssembly.instantiateStreaming(response, go.importObject));
  } catch (err) {
    throw new NibError('wasm', `cannot load nib.wasm from ${msg.wasm}: ${err} (build it with editor-extension/scripts/build-wasm.mjs)`);
  }
  // The webgpu binding writes into Go's memory through globalThis.wasm.
  self.wasm = { instance };
  post({ type: 'started' });
  await go.run(instance);
  post({ type: 'exit', code });
}

self.onmessage = (event) => {
  const msg = event.data;
  if (!msg || msg.type !== 'run') return;
  self.onmessage = null; // one program per worker
  run(msg).catch((err) => {
    post({ type: 'error', kind: err instanceof NibError ? err.kind : 'internal', message: err && err.message ? err.message : String(err) });
  });
};
