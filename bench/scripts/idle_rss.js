// Measures ringcast's RSS per idle WebSocket connection: starts the server,
// reads its RSS, opens N connections (spread over source addresses
// 127.0.0.2.. so no address runs out of ports), waits for every welcome,
// reads RSS again and prints the difference per connection.
// usage: NODE_PATH=.deps/node/node_modules node bench/scripts/idle_rss.js build/tools/ringcast [N]
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const WebSocket = require('ws');

const bin = process.argv[2];
const total = Number(process.argv[3] || 10000);
const perAddress = 5000;

function rssKiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}
function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

(async () => {
  const port = await freePort();
  const server = spawn(bin, ['--listen', `127.0.0.1:${port}`, '--shards', '2'], { stdio: 'inherit' });
  const killer = setTimeout(() => { server.kill('SIGKILL'); process.exit(3); }, 120000);
  await sleep(500);
  const base = rssKiB(server.pid);
  const sockets = [];
  let welcomed = 0;
  for (let i = 0; i < total; i++) {
    const localAddress = `127.0.0.${2 + Math.floor(i / perAddress)}`;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { localAddress, perMessageDeflate: false });
    ws.once('message', () => { welcomed++; });
    ws.on('error', (e) => { console.error('client error', e.message); });
    sockets.push(ws);
    if (i % 500 === 499) await sleep(50);
  }
  while (welcomed < total) await sleep(100);
  await sleep(1000);
  const after = rssKiB(server.pid);
  const per = ((after - base) * 1024) / total;
  console.log(JSON.stringify({ connections: total, rss_base_kib: base, rss_after_kib: after,
                               bytes_per_connection: Math.round(per) }));
  for (const ws of sockets) ws.terminate();
  server.kill('SIGTERM');
  server.on('exit', () => { clearTimeout(killer); process.exit(0); });
})();
