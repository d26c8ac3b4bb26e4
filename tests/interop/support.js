'use strict';
// Helpers shared by the interop tests (ws_client_test.js, dashboard_test.js):
// loopback ports and bounded waits. CommonJS, no dependencies.

const net = require('net');

// Rejects with `timeout: <what>` when `promise` has not settled within `ms`.
function withTimeout(promise, what, ms) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout: ' + what)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// A loopback port free right now (the kernel's choice for port 0).
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Whether a TCP connection to 127.0.0.1:port is accepted.
function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

module.exports = { withTimeout, freePort, canConnect };
