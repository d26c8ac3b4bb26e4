'use strict';
// Runs one suite of the JavaScript client's tests with Node's test runner, after building the
// client from source into a fresh temporary folder (so every run tests the current code):
//   node test/run.cjs unit|build|e2e|browser [path-to-ringcast]
// The ctest entries of tests/CMakeLists.txt call this; npm test runs every suite with the
// ringcast of ../../build. Exits non-zero on any failure, or when a tool the suite needs is
// missing (tools/setup.sh deps installs them): in CI a missing tool fails, it never skips.
//
// Works on Node 18 (package.json's engines; Debian 12's own nodejs) as on later ones, so it
// uses no runner flag newer than 18 (--test-concurrency and --test-timeout came in 20.10 and
// 20.11): each test file runs as its own `node FILE` process, one after the other (the e2e
// and browser files start servers and a browser each), within what is left of the suite's
// time; tests that talk to real processes carry their own { timeout } (support.mjs, TIMEOUT).
// A file that outlives its time is sent SIGTERM, on which support.mjs kills its servers.
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { build } = require('../build.cjs');

const here = __dirname;
/** Each suite's files together; ctest gives each suite 300 s. */
const SUITE_TIMEOUT_MS = 240000;
const suites = { unit: 'unit', build: 'build', e2e: 'e2e', browser: 'browser' };
const [suite = 'all', binaryArg] = process.argv.slice(2);
const chosen = suite === 'all' ? Object.keys(suites) : [suite];
if (!chosen.every((s) => suites[s])) {
  console.error(`usage: node test/run.cjs ${Object.keys(suites).join('|')}|all [path-to-ringcast]`);
  process.exit(2);
}
const binary = path.resolve(binaryArg || path.join(here, '../../../build/tools/ringcast'));
if (chosen.some((s) => s === 'e2e' || s === 'browser') && !fs.existsSync(binary)) {
  console.error(`run.cjs: no ringcast binary at ${binary}`);
  process.exit(1);
}
const nodeModules = path.join(here, '../../../.deps/node/node_modules');
const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-js-dist-'));
let status = 0;
try {
  build(dist);
  const env = {
    ...process.env,
    RINGCAST_BINARY: binary,
    RINGCAST_JS_DIST: dist,
    NODE_PATH: [process.env.NODE_PATH, nodeModules].filter(Boolean).join(path.delimiter),
  };
  for (const s of chosen) {
    const dir = path.join(here, suites[s]);
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.test.mjs')).sort().map((f) => path.join(dir, f));
    const deadline = Date.now() + SUITE_TIMEOUT_MS;
    for (const file of files) {
      const left = deadline - Date.now();
      const r = left > 0 ? spawnSync(process.execPath, [file], { env, stdio: 'inherit', timeout: left }) : { status: null, error: new Error('no time left') };
      if (r.status !== 0) {
        const why = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `status ${r.status}`;
        console.error(`run.cjs: ${s}: ${path.basename(file)} failed (${why})`);
        status = 1;
      }
    }
  }
} finally {
  fs.rmSync(dist, { recursive: true, force: true });
}
process.exit(status);
