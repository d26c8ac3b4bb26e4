// What the end-to-end tests share: the real ringcast binary as a child process on a free
// loopback port (killed when the test process ends, whatever happens), a redis-server for
// cluster mode, the HTTP API, a TCP proxy that can cut or blackhole connections, the built
// client, and bounded waits.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);

export const binary = process.env.RINGCAST_BINARY;
export const dist = process.env.RINGCAST_JS_DIST;
if (!binary || !dist) {
  throw new Error('RINGCAST_BINARY and RINGCAST_JS_DIST must be set (run the tests through test/run.cjs)');
}

/** The `ws` package, from NODE_PATH (tools/setup.sh installs it into .deps/node). */
export const WebSocket = require('ws');

/** The CommonJS build, as a Node app using require() would load it. */
export const ringcast = require(path.join(dist, 'ringcast.cjs'));

// Every server started here dies with this process, however it ends.
const children = new Set();
const killAll = () => {
  for (const c of children) c.kill('SIGKILL');
};
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    killAll();
    process.exit(1);
  });
}

/** Kills every server still running (for after() hooks: a failed test leaves its own). */
export function killServers() {
  killAll();
}

/** Makes `child` die with this process, like the servers started here. */
export function adopt(child) {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/**
 * The options of every test that talks to real processes: a bound on each test (run.cjs
 * bounds each file as a whole, as Node 18's runner has no --test-timeout).
 */
export const TIMEOUT = { timeout: 60000 };

/**
 * A free port below the kernel's ephemeral range. Servers here are killed and started again on
 * the same port while clients keep reconnecting to it; with a port from the ephemeral range
 * one of those connects can pick the port itself as its source and connect to itself (TCP
 * simultaneous open), and then holds the port the server needs.
 */
export async function freePort() {
  let low = 32768;
  try {
    low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch (_) {
    // not Linux: keep the usual bound
  }
  const lowest = Math.min(10000, low - 1000);
  for (let i = 0; i < 200; i++) {
    const port = lowest + Math.floor(Math.random() * (low - lowest));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port in ${lowest}..${low}`);
}

function canListen(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.on('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** Resolves when cond() is truthy; rejects after ms with `what`. */
export async function waitFor(cond, what, ms = 10000) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function tempConfig(text) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-js-'));
  const file = path.join(dir, 'ringcast.toml');
  fs.writeFileSync(file, text);
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return file;
}

/** Rooms of namespace `h:` keep history; others do not. */
export const HISTORY_CONFIG = '[namespaces.h]\nhistory_size = 10000\n';

/** A ringcast process; start() again after stop() runs a new one on the same port. */
export class Server {
  constructor(port, args = []) {
    this.port = port;
    this.args = args;
    this.child = null;
    this.exit = null;
  }

  async start() {
    const child = spawn(binary, ['--listen', `127.0.0.1:${this.port}`, '--shards', '2', '--drain-ms', '400', ...this.args], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.add(child);
    this.child = child;
    this.exit = new Promise((resolve) => child.on('exit', (code, signal) => { children.delete(child); resolve({ code, signal }); }));
    const deadline = Date.now() + 10000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`ringcast exited at start with ${child.exitCode}`);
      if (await canConnect(this.port)) return this;
      if (Date.now() > deadline) throw new Error('ringcast did not accept within 10 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * Stops the process with `signal` and waits for it to end and for its port to refuse
   * connections: after a SIGKILL the kernel may tear down the process's io_uring, which still
   * holds the listening socket, a moment after the exit, and until then a new ringcast on the
   * port would find it served. Resolves the exit.
   */
  async stop(signal = 'SIGKILL') {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    const exit = await this.exit;
    const deadline = Date.now() + 10000;
    while (await canConnect(this.port)) {
      if (Date.now() > deadline) throw new Error(`port ${this.port} still accepts 10 s after ringcast exited`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return exit;
  }

  get url() {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /**
   * Resolves once GET /healthz says `redis: up` (cluster mode): a node accepts before its Redis
   * connections are up, and until then a publication through it is refused (`unavailable`).
   */
  async redisUp(ms = 10000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const text = await new Promise((resolve) => {
        http.get({ host: '127.0.0.1', port: this.port, path: '/healthz' }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve(body));
        }).on('error', () => resolve(''));
      });
      if (text.includes('redis: up')) return this;
      if (Date.now() > deadline) throw new Error(`port ${this.port}: /healthz still says ${JSON.stringify(text)} after ${ms} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** POST /api/PATH with a JSON body; resolves the parsed answer, rejects on a non-200. */
  api(apiPath, body) {
    return new Promise((resolve, reject) => {
      const data = JSON.stringify(body);
      const req = http.request(
        { host: '127.0.0.1', port: this.port, path: '/api/' + apiPath, method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`${apiPath}: HTTP ${res.statusCode} ${text}`))));
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  }
}

/**
 * A redis-server on a loopback port, nothing kept on disk (cluster-mode tests): started with
 * start(), gone with stop() or when this process ends. `redis-server` from PATH
 * (tools/setup.sh deps installs it) or RINGCAST_REDIS_SERVER.
 */
export class Redis {
  constructor(port) {
    this.port = port;
    this.child = null;
    this.exit = null;
  }

  async start() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-js-redis-'));
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--protected-mode', 'no'];
    const child = spawn(process.env.RINGCAST_REDIS_SERVER || 'redis-server', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    let spawnError = null;
    child.on('error', (e) => (spawnError = e));
    adopt(child);
    this.child = child;
    this.exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    const deadline = Date.now() + 10000;
    while (!(await redisAnswers(this.port))) {
      if (spawnError) throw new Error(`cannot run redis-server (tools/setup.sh deps installs it): ${spawnError.message}`);
      if (child.exitCode !== null) throw new Error(`redis-server exited at start with ${child.exitCode}`);
      if (Date.now() > deadline) throw new Error('redis-server did not answer PING within 10 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    return this;
  }

  async stop() {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    return this.exit;
  }

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }
}

/** Whether a Redis on `port` answers PING (within a second). */
function redisAnswers(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => done(d.toString().startsWith('+PONG')));
    s.on('error', () => done(false));
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

/**
 * A TCP proxy in front of a server: cut() resets every connection through it (a network
 * drop the client sees at once), blackhole() keeps them open but forwards nothing more (a
 * dead path only a heartbeat can find). New connections are forwarded normally.
 */
export class Proxy {
  constructor(targetPort) {
    this.targetPort = targetPort;
    this.pairs = new Set();
    this.connections = 0;
    this.server = net.createServer((down) => {
      this.connections++;
      const up = net.connect(this.targetPort, '127.0.0.1');
      const pair = { down, up, dead: false };
      this.pairs.add(pair);
      down.on('data', (d) => pair.dead || up.write(d));
      up.on('data', (d) => pair.dead || down.write(d));
      const end = () => { this.pairs.delete(pair); down.destroy(); up.destroy(); };
      down.on('close', end);
      up.on('close', end);
      down.on('error', end);
      up.on('error', end);
    });
  }

  listen() {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve(this.server.address().port)));
  }

  cut() {
    for (const { down, up } of this.pairs) {
      down.resetAndDestroy ? down.resetAndDestroy() : down.destroy();
      up.destroy();
    }
  }

  blackhole() {
    for (const pair of this.pairs) pair.dead = true;
  }

  close() {
    this.cut();
    this.server.close();
  }
}

/** Records a client's events as [name, payload] pairs. */
export function record(emitter, names) {
  const log = [];
  for (const n of names) emitter.on(n, (x) => log.push([n, x]));
  return log;
}
