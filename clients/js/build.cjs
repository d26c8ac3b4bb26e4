'use strict';
// Builds the client from src/ into OUT (default ./dist): ringcast.mjs (ESM), ringcast.cjs
// (CommonJS), ringcast.min.js (one minified file for a <script> tag, global `Ringcast`) and
// the type declarations for both module kinds. esbuild comes from the git-ignored .deps/node
// (tools/setup.sh installs it) or NODE_PATH. Usage: node build.cjs [OUT]
const fs = require('fs');
const path = require('path');

function loadEsbuild() {
  try {
    return require('esbuild');
  } catch (_) {
    return require(path.join(__dirname, '../../.deps/node/node_modules/esbuild'));
  }
}

function build(out) {
  const esbuild = loadEsbuild();
  fs.mkdirSync(out, { recursive: true });
  const common = { entryPoints: [path.join(__dirname, 'src/index.js')], bundle: true, target: 'es2020', logLevel: 'error' };
  esbuild.buildSync({ ...common, format: 'esm', outfile: path.join(out, 'ringcast.mjs') });
  esbuild.buildSync({ ...common, format: 'cjs', outfile: path.join(out, 'ringcast.cjs') });
  esbuild.buildSync({ ...common, format: 'iife', globalName: 'Ringcast', minify: true, outfile: path.join(out, 'ringcast.min.js') });
  const types = fs.readFileSync(path.join(__dirname, 'src/ringcast.d.ts'));
  fs.writeFileSync(path.join(out, 'ringcast.d.ts'), types);
  fs.writeFileSync(path.join(out, 'ringcast.d.cts'), types);
  return out;
}

module.exports = { build };
if (require.main === module) {
  console.log('built ' + build(path.resolve(process.argv[2] || path.join(__dirname, 'dist'))));
}
