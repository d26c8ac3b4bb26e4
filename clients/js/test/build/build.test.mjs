// The built files: each module format exports the same API, the browser file defines the
// global `Ringcast`, it fits the size budget, and the types compile against a real use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import zlib from 'node:zlib';

const dist = process.env.RINGCAST_JS_DIST;
const here = path.dirname(new URL(import.meta.url).pathname);
const require = createRequire(import.meta.url);
const API = ['Backoff', 'Client', 'Emitter', 'RingcastError', 'Subscription'];

/** Minified and gzipped, the browser build stays under this. */
const SIZE_BUDGET_BYTES = 6 * 1024;

test('the browser build fits the size budget (minified + gzip)', () => {
  const min = fs.readFileSync(path.join(dist, 'ringcast.min.js'));
  const gz = zlib.gzipSync(min, { level: 9 }).length;
  console.log(`ringcast.min.js: ${min.length} bytes, ${gz} gzipped (budget ${SIZE_BUDGET_BYTES})`);
  assert.ok(gz <= SIZE_BUDGET_BYTES, `${gz} bytes gzipped is over the ${SIZE_BUDGET_BYTES}-byte budget`);
});

test('ESM, CommonJS and the browser global export the same API', async () => {
  const esm = await import(path.join(dist, 'ringcast.mjs'));
  const cjs = require(path.join(dist, 'ringcast.cjs'));
  const sandbox = { URL };
  vm.runInNewContext(fs.readFileSync(path.join(dist, 'ringcast.min.js'), 'utf8'), sandbox);
  assert.deepEqual(Object.keys(esm).sort(), API);
  assert.deepEqual(Object.keys(cjs).filter((k) => k !== '__esModule').sort(), API);
  assert.deepEqual(Object.keys(sandbox.Ringcast).sort(), API);
  assert.equal(typeof new sandbox.Ringcast.Backoff(1, 2).next(), 'number');
});

test('the client package declares no runtime dependencies', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(here, '../../package.json'), 'utf8'));
  assert.equal(pkg.dependencies, undefined);
  assert.equal(pkg.peerDependencies, undefined);
});

test('the types compile for an ESM and a CommonJS user (tsc --noEmit)', () => {
  const tsc = require.resolve('typescript/bin/tsc');
  // A project that depends on the package as npm would install it.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-types-'));
  try {
    const pkgDir = path.join(dir, 'node_modules/ringcast');
    fs.mkdirSync(pkgDir, { recursive: true });
    fs.copyFileSync(path.join(here, '../../package.json'), path.join(pkgDir, 'package.json'));
    fs.symlinkSync(dist, path.join(pkgDir, 'dist'));
    for (const f of ['usage.mts', 'usage.cts', 'tsconfig.json']) fs.copyFileSync(path.join(here, '../types', f), path.join(dir, f));
    // One tsc run: usage.mts and usage.cts must compile cleanly, and bad.mts, a misuse (a wrong
    // event name, a function as JSON data), must be refused on exactly its two bad lines.
    fs.writeFileSync(path.join(dir, 'bad.mts'), "import { Client } from 'ringcast';\nconst c = new Client('ws://x');\nc.on('conected', () => {});\nc.publish('r', () => 1);\n");
    const r = spawnSync(process.execPath, [tsc, '--noEmit', '-p', dir], { cwd: dir, encoding: 'utf8', timeout: 120000 });
    const errorLines = r.stdout.split('\n').filter((l) => /error TS/.test(l));
    assert.deepEqual(errorLines.map((l) => l.split(':')[0].replace(/,\d+\)$/, ')')), ['bad.mts(3)', 'bad.mts(4)'], r.stdout + r.stderr);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
