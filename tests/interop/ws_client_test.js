'use strict';
// Interop: the npm `ws` client (which checks Sec-WebSocket-Accept, masking and
// framing on its own) against the real ringcast binary.
// Usage: node ws_client_test.js <path-to-ringcast>
// Prints `N passed, M failed` and exits non-zero on any failure.

const { spawn } = require('child_process');
const support = require('./support');
const WebSocket = require('ws');

const binary = process.argv[2];
if (!binary) {
  console.error('usage: node ws_client_test.js <path-to-ringcast>');
  process.exit(2);
}

const STEP_TIMEOUT_MS = 5000;
const TOTAL_TIMEOUT_MS = 60000;
let child = null;
let passed = 0;
const failures = [];
const sockets = [];

function killChild() {
  if (child && child.exitCode === null && child.signalCode === null) {
    try { child.kill('SIGKILL'); } catch (_) { /* already gone */ }
  }
}
process.on('exit', killChild);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { killChild(); process.exit(1); });
}
const overall = setTimeout(() => {
  console.error('interop: overall timeout of ' + TOTAL_TIMEOUT_MS + ' ms');
  finish(['overall timeout']);
}, TOTAL_TIMEOUT_MS);

function finish(extra = []) {
  clearTimeout(overall);
  for (const ws of sockets) { try { ws.terminate(); } catch (_) { /* ignore */ } }
  killChild();
  const all = failures.concat(extra);
  for (const f of all) console.log('FAIL ' + f);
  console.log(`${passed} passed, ${all.length} failed`);
  process.exit(all.length === 0 ? 0 : 1);
}

function withTimeout(promise, what, ms = STEP_TIMEOUT_MS) {
  return support.withTimeout(promise, what, ms);
}

async function waitAccepting(port, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error('ringcast exited early: ' + (child.exitCode ?? child.signalCode));
    }
    if (await support.canConnect(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('ringcast did not accept within ' + ms + ' ms');
}

// A client with a queue of received text messages and awaited reads.
class Client {
  constructor(url) {
    this.ws = new WebSocket(url);
    sockets.push(this.ws);
    this.queue = [];
    this.waiters = [];
    this.closeCode = null;
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code) => { this.closeCode = code; resolve(code); this.flushWaiters(); });
    });
    this.ws.on('error', () => { /* the close event follows */ });
    this.ws.on('message', (data, isBinary) => {
      const text = isBinary ? '<binary>' : data.toString('utf8');
      this.queue.push(text);
      this.flushWaiters();
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.on('open', resolve);
      this.ws.on('unexpected-response', (_, res) => reject(new Error('HTTP ' + res.statusCode)));
      this.ws.on('error', reject);
    });
  }
  flushWaiters() {
    while (this.waiters.length > 0 && (this.queue.length > 0 || this.closeCode !== null)) {
      const w = this.waiters.shift();
      if (this.queue.length > 0) w.resolve(this.queue.shift());
      else w.reject(new Error('closed with ' + this.closeCode));
    }
  }
  next(what = 'message') {
    const p = new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.flushWaiters();
    });
    return withTimeout(p, what);
  }
  async nextJson(what) {
    return JSON.parse(await this.next(what));
  }
  send(obj) {
    this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }
  async expectSilence(ms) {
    await new Promise((r) => setTimeout(r, ms));
    if (this.queue.length > 0) throw new Error('unexpected message: ' + this.queue[0]);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

function assertEq(actual, expected, what) {
  const a = JSON.stringify(canonical(actual));
  const e = JSON.stringify(canonical(expected));
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

// Same JSON value regardless of key order.
function canonical(v) {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    const out = {};
    for (const k of Object.keys(v).sort()) out[k] = canonical(v[k]);
    return out;
  }
  return v;
}

async function connect(url) {
  const c = new Client(url);
  await withTimeout(c.opened, 'open ' + url);
  const welcome = await c.nextJson('welcome');
  assertEq(welcome.op, 'welcome', 'welcome op');
  c.welcome = welcome;
  c.user = welcome.user;
  return c;
}

async function main() {
  const port = await support.freePort();
  child = spawn(binary, ['--listen', `127.0.0.1:${port}`, '--shards', '2'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.on('error', (e) => finish(['spawn ' + binary + ': ' + e.message]));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  await waitAccepting(port, 10000);
  const url = `ws://127.0.0.1:${port}/ws`;

  const tests = [];
  const test = (name, fn) => tests.push({ name, fn });

  test('handshake and welcome', async () => {
    const c = await connect(url);
    assertEq(canonical(Object.keys(c.welcome).sort()), ['node', 'op', 'sid', 'user', 'v'], 'welcome keys');
    assertEq(c.welcome.v, 1, 'welcome v');
    assert(typeof c.welcome.sid === 'string' && c.welcome.sid.length > 0, 'sid');
    assert(typeof c.welcome.user === 'string' && c.welcome.user.length > 0, 'user');
    assert(typeof c.welcome.node === 'string' && c.welcome.node.length > 0, 'node');
    c.ws.close();
  });

  test('sub/pub between two clients, exact msg, ok ids', async () => {
    // Several pairs so that both same-shard and cross-shard pairs occur.
    for (let i = 0; i < 6; i++) {
      const a = await connect(url);
      const b = await connect(url);
      const room = `interop-${i}`;
      a.send({ op: 'sub', room, id: 11 });
      assertEq(await a.nextJson('sub ok'), { op: 'ok', id: 11 }, 'sub ok');
      const data = { text: 'héllo "world"', n: i, list: [1, 2.5, null, true], nested: { k: 'v' } };
      b.send({ op: 'pub', room, data, id: 12 });
      assertEq(await b.nextJson('pub ok'), { op: 'ok', id: 12 }, 'pub ok');
      const msg = await a.nextJson('msg');
      assertEq(canonical(msg), canonical({ op: 'msg', room, from: b.user, data }), 'msg');
      a.send({ op: 'unsub', room, id: 13 });
      assertEq(await a.nextJson('unsub ok'), { op: 'ok', id: 13 }, 'unsub ok');
      a.ws.close();
      b.ws.close();
    }
  });

  test('echo:false reaches others but not the publisher', async () => {
    const a = await connect(url);
    const b = await connect(url);
    a.send({ op: 'sub', room: 'echo', id: 1 });
    b.send({ op: 'sub', room: 'echo', id: 1 });
    await a.next('sub ok a');
    await b.next('sub ok b');
    a.send({ op: 'pub', room: 'echo', data: 'quiet', echo: false, id: 2 });
    assertEq(await a.nextJson('pub ok'), { op: 'ok', id: 2 }, 'pub ok');
    assertEq((await b.nextJson('msg')).data, 'quiet', 'b got the message');
    a.send({ op: 'pub', room: 'echo', data: 'loud', id: 3 });
    const got = [await a.nextJson('a 1'), await a.nextJson('a 2')];
    const msgs = got.filter((m) => m.op === 'msg');
    assertEq(msgs.map((m) => m.data), ['loud'], 'publisher echo');
    assertEq((await b.nextJson('msg 2')).data, 'loud', 'b got the second message');
    await a.expectSilence(100);
    a.ws.close();
    b.ws.close();
  });

  test('ping/pong command', async () => {
    const c = await connect(url);
    c.send({ op: 'ping', id: 77 });
    assertEq(await c.nextJson('pong'), { op: 'pong', id: 77 }, 'pong');
    c.ws.close();
  });

  test('bad_json error keeps the connection', async () => {
    const c = await connect(url);
    c.send('{"op":');
    const err = await c.nextJson('error');
    assertEq(err.op, 'error', 'op');
    assertEq(err.code, 'bad_json', 'code');
    c.send({ op: 'ping', id: 5 });
    assertEq(await c.nextJson('pong'), { op: 'pong', id: 5 }, 'pong after bad json');
    c.ws.close();
  });

  test('several commands in one frame answered in order', async () => {
    const c = await connect(url);
    c.send('{"op":"ping","id":1}\n{"op":"sub","room":"multi","id":2}\n{"op":"ping","id":3}');
    assertEq(await c.nextJson('1'), { op: 'pong', id: 1 }, 'first');
    assertEq(await c.nextJson('2'), { op: 'ok', id: 2 }, 'second');
    assertEq(await c.nextJson('3'), { op: 'pong', id: 3 }, 'third');
    c.ws.close();
  });

  test('60 KiB message published and received intact', async () => {
    const a = await connect(url);
    const b = await connect(url);
    a.send({ op: 'sub', room: 'big', id: 1 });
    await a.next('sub ok');
    let blob = '';
    for (let i = 0; blob.length < 60 * 1024; i++) blob += (i % 10).toString() + 'abcdefghij'[i % 10];
    b.send({ op: 'pub', room: 'big', data: { blob }, id: 2 });
    assertEq(await b.nextJson('pub ok'), { op: 'ok', id: 2 }, 'pub ok');
    const msg = await a.nextJson('big msg');
    assert(msg.data && msg.data.blob === blob, 'blob differs (length ' + (msg.data && msg.data.blob && msg.data.blob.length) + ')');
    a.ws.close();
    b.ws.close();
  });

  test('ws ping() gets a pong', async () => {
    const c = await connect(url);
    const pong = new Promise((resolve) => c.ws.once('pong', (data) => resolve(data.toString())));
    c.ws.ping('are-you-there');
    assertEq(await withTimeout(pong, 'pong frame'), 'are-you-there', 'pong payload');
    c.ws.close();
  });

  test('binary frame closes with 1003', async () => {
    const c = await connect(url);
    c.ws.send(Buffer.from('{"op":"ping","id":1}'), { binary: true });
    const code = await withTimeout(c.closed, 'close after binary');
    assertEq(code, 1003, 'close code');
  });

  test('client close 1000 is answered', async () => {
    const c = await connect(url);
    c.ws.close(1000, 'done');
    const code = await withTimeout(c.closed, 'close handshake');
    assertEq(code, 1000, 'close code');
  });

  for (const t of tests) {
    try {
      await t.fn();
      passed++;
      console.log('ok   ' + t.name);
    } catch (e) {
      failures.push(`${t.name}: ${e.message}`);
      console.log('FAIL ' + t.name + ': ' + e.message);
    }
  }

  // Last: SIGTERM with a connected client -> bye{reconnect:true}, close 1001, exit 0.
  try {
    const c = await connect(url);
    child.kill('SIGTERM');
    const bye = await c.nextJson('bye');
    assertEq(bye.op, 'bye', 'bye op');
    assertEq(bye.reconnect, true, 'bye reconnect');
    const code = await withTimeout(c.closed, 'close after SIGTERM');
    assertEq(code, 1001, 'close code');
    const { code: exitCode, signal } = await withTimeout(exited, 'ringcast exit', 10000);
    assertEq({ exitCode, signal }, { exitCode: 0, signal: null }, 'exit status');
    passed++;
    console.log('ok   SIGTERM drains and exits 0');
  } catch (e) {
    failures.push('SIGTERM drains and exits 0: ' + e.message);
    console.log('FAIL SIGTERM drains and exits 0: ' + e.message);
  }
  finish();
}

main().catch((e) => finish(['setup: ' + e.message]));
