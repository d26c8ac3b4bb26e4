'use strict';
// Serves the chat example and the client's source (plain ES modules, so no build step) on
// http://127.0.0.1:8000/. Needs only Node. Usage, from the repository root:
//   tools/setup.sh run --config clients/js/examples/chat/ringcast.toml   # ringcast on :8080
//   node clients/js/examples/chat/serve.cjs [PORT]                      # then open the page
const fs = require('fs');
const http = require('http');
const path = require('path');

const root = path.resolve(__dirname, '../..'); // clients/js
const port = Number(process.argv[2] || 8000);
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css' };
const allowed = [path.join(root, 'src'), __dirname];

http
  .createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const file = path.join(root, rel === '/' ? 'examples/chat/index.html' : rel);
    const inside = allowed.some((dir) => file.startsWith(dir + path.sep));
    if (!inside || !fs.existsSync(file) || !types[path.extname(file)]) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': types[path.extname(file)] }).end(fs.readFileSync(file));
  })
  .listen(port, '127.0.0.1', () => console.log(`chat example on http://127.0.0.1:${port}/ (ringcast expected on ws://127.0.0.1:8080/ws; ?ws=URL to change)`));
