// The connection state machine, calls and heartbeat, against a fake socket and a fake clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, RingcastError } from '../../src/index.js';
import { FakeClock, socketFactory, settle } from './fakes.mjs';

function setup(options = {}) {
  const clock = new FakeClock();
  const { FakeSocket, sockets } = socketFactory();
  const client = new Client('ws://127.0.0.1:1/ws', {
    WebSocket: FakeSocket,
    clock,
    random: () => 0.999999,
    minReconnectDelayMs: 100,
    maxReconnectDelayMs: 1000,
    pingIntervalMs: 5000,
    pongTimeoutMs: 2000,
    ...options,
  });
  const events = [];
  for (const e of ['connecting', 'connected', 'disconnected', 'error']) client.on(e, (x) => events.push([e, x]));
  return { clock, sockets, client, events, last: () => sockets.at(-1) };
}

test('connecting then connected on welcome, with the session', () => {
  const { client, sockets, events } = setup();
  assert.equal(client.state, 'idle');
  client.connect();
  assert.equal(client.state, 'connecting');
  assert.equal(sockets.length, 1);
  sockets[0].welcome('alice');
  assert.equal(client.state, 'connected');
  assert.deepEqual(client.session, { sid: 's0', user: 'alice', node: 'n1' });
  assert.deepEqual(events.map((e) => e[0]), ['connecting', 'connected']);
});

test('getToken is asked on every connect, with the reason, and goes in the URL', async () => {
  const reasons = [];
  let n = 0;
  const { client, sockets, clock } = setup({
    getToken: async ({ reason }) => {
      reasons.push(reason);
      return 'tok' + ++n;
    },
  });
  client.connect();
  await settle();
  assert.equal(new URL(sockets[0].url).searchParams.get('token'), 'tok1');
  sockets[0].welcome();
  sockets[0].serverClose(1006, '');
  clock.advance(1000);
  await settle();
  assert.equal(new URL(sockets[1].url).searchParams.get('token'), 'tok2');
  sockets[1].welcome();
  clock.advance(100); // up for the backoff's min: a token that lived, not one born expiring
  sockets[1].serverClose(1008, 'token expired');
  await settle();
  clock.advance(0);
  await settle();
  assert.equal(sockets.length, 3, 'an expired token reconnects at once');
  assert.equal(new URL(sockets[2].url).searchParams.get('token'), 'tok3');
  assert.deepEqual(reasons, ['connect', 'connect', 'expired']);
});

test('a getToken that throws is an error and a retry after backoff, not a stop', async () => {
  let fail = true;
  const { client, sockets, clock, events } = setup({
    getToken: async () => {
      if (fail) throw new Error('auth service down');
      return 't';
    },
  });
  client.connect();
  await settle();
  assert.equal(sockets.length, 0);
  assert.equal(client.state, 'disconnected');
  assert.ok(events.some(([e, x]) => e === 'error' && /auth service down/.test(x.message)));
  fail = false;
  clock.advance(100);
  await settle();
  assert.equal(sockets.length, 1);
});

test('temporary closes reconnect with growing delays; a welcome resets them', () => {
  const { client, sockets, clock, events } = setup();
  client.connect();
  sockets[0].serverClose(1006);
  sockets.at(-1); // no welcome: the attempts pile up
  const delays = [];
  for (let i = 0; i < 4; i++) {
    const d = events.filter((e) => e[0] === 'disconnected').at(-1)[1];
    assert.equal(d.reconnect, true);
    delays.push(d.delayMs);
    clock.advance(d.delayMs - 1);
    assert.equal(sockets.length, i + 1, 'not before the delay');
    clock.advance(1);
    assert.equal(sockets.length, i + 2);
    sockets.at(-1).serverClose(1006);
  }
  assert.deepEqual(delays, [100, 200, 400, 800]);
  clock.advance(1000);
  // A connection closed right after its welcome does not reset the delays...
  sockets.at(-1).welcome();
  sockets.at(-1).serverClose(4000, 'slow consumer');
  assert.equal(events.filter((e) => e[0] === 'disconnected').at(-1)[1].delayMs, 1000);
  clock.advance(1000);
  // ...one that lasted the backoff's min does.
  sockets.at(-1).welcome();
  clock.advance(100);
  sockets.at(-1).serverClose(4000, 'slow consumer');
  assert.equal(events.filter((e) => e[0] === 'disconnected').at(-1)[1].delayMs, 100);
});

test('an expired token reconnects at once only after a connection that lasted; else the backoff paces it', async () => {
  const reasons = [];
  const { client, sockets, clock, events } = setup({ getToken: ({ reason }) => (reasons.push(reason), 't') });
  const lastDisconnect = () => events.filter((e) => e[0] === 'disconnected').at(-1)[1];
  client.connect();
  await settle();
  sockets[0].welcome();
  clock.advance(5000);
  sockets[0].receive({ op: 'pong', id: sockets[0].last('ping').id });
  sockets[0].serverClose(1008, 'token expired');
  assert.equal(lastDisconnect().delayMs, 0, 'up 5 s: a fresh token at once');
  clock.advance(0);
  await settle();
  // getToken now hands out tokens that expire at once: growing delays, not a tight loop.
  const delays = [];
  for (let i = 1; i <= 3; i++) {
    assert.equal(sockets.length, i + 1);
    sockets[i].welcome();
    sockets[i].serverClose(1008, 'token expired');
    const d = lastDisconnect();
    assert.deepEqual([d.code, d.reason, d.reconnect], [1008, 'token expired', true]);
    delays.push(d.delayMs);
    clock.advance(d.delayMs);
    await settle();
  }
  assert.deepEqual(delays, [100, 200, 400]);
  assert.deepEqual(reasons, ['connect', 'expired', 'expired', 'expired', 'expired']);
});

test('a connect timeout after a drained connection reports the timeout, not the old bye', async () => {
  let pending = false;
  const { client, sockets, clock, events } = setup({
    connectTimeoutMs: 3000,
    getToken: () => (pending ? new Promise(() => {}) : 't'), // the auth service hangs
  });
  client.connect();
  await settle();
  sockets[0].welcome();
  sockets[0].receive({ op: 'bye', code: 1001, reason: 'server shutting down', reconnect: true });
  sockets[0].serverClose(1001, 'server shutting down');
  pending = true;
  clock.advance(events.at(-1)[1].delayMs);
  await settle();
  assert.equal(client.state, 'connecting');
  clock.advance(3000);
  const d = events.at(-1);
  assert.deepEqual([d[0], d[1].code, d[1].reason, d[1].reconnect], ['disconnected', 1006, 'connect timeout', true]);
  assert.equal(sockets.length, 1);
});

test('a handshake refused with HTTP 401 stops a client without getToken, and says why', () => {
  const { client, sockets, clock, events } = setup({ user: 'mallory' });
  client.connect();
  sockets[0].refuse(401);
  assert.equal(client.state, 'closed');
  const err = events.find((e) => e[0] === 'error')[1];
  assert.deepEqual([err.code, err.status, err.reason], ['refused', 401, 'handshake refused: HTTP 401']);
  assert.deepEqual(events.at(-1), ['disconnected', { code: 1006, reason: 'handshake refused: HTTP 401', reconnect: false }]);
  clock.advance(60000);
  assert.equal(sockets.length, 1, 'no retry');
});

test('a refused handshake asks getToken once more; a fresh token refused too stops the client', async () => {
  const reasons = [];
  const { client, sockets, clock, events } = setup({ getToken: ({ reason }) => (reasons.push(reason), 'bad') });
  client.connect();
  await settle();
  sockets[0].refuse(403);
  assert.equal(client.state, 'disconnected');
  assert.deepEqual(events.at(-1), ['disconnected', { code: 1006, reason: 'handshake refused: HTTP 403', reconnect: true, delayMs: 0 }]);
  clock.advance(0);
  await settle();
  assert.deepEqual(reasons, ['connect', 'expired']);
  sockets[1].refuse(403);
  assert.equal(client.state, 'closed');
  assert.equal(events.filter((e) => e[0] === 'error').length, 1);
  assert.deepEqual(events.at(-1), ['disconnected', { code: 1006, reason: 'handshake refused: HTTP 403', reconnect: false }]);
  // connect() starts over, with a retry for a refusal again.
  client.connect();
  await settle();
  sockets[2].refuse(401);
  assert.equal(client.state, 'disconnected');
});

test('a refusal whose status the socket cannot see (a browser) is retried with backoff', () => {
  const { client, sockets, clock, events } = setup();
  client.connect();
  sockets[0].refuse(401, null);
  assert.equal(client.state, 'disconnected');
  const d = events.at(-1)[1];
  assert.deepEqual([d.code, d.reason, d.reconnect, d.delayMs], [1006, '', true, 100]);
  assert.equal(events.filter((e) => e[0] === 'error').length, 0);
  clock.advance(100);
  assert.equal(sockets.length, 2);
  sockets[1].refuse(500);
  assert.equal(client.state, 'disconnected', 'other statuses are temporary');
});

test('bye with reconnect:true (drain) reconnects', () => {
  const { client, sockets, clock, events } = setup();
  client.connect();
  sockets[0].welcome();
  sockets[0].receive({ op: 'bye', code: 1001, reason: 'server shutting down', reconnect: true });
  sockets[0].serverClose(1001, 'server shutting down');
  const d = events.at(-1)[1];
  assert.deepEqual([d.code, d.reason, d.reconnect], [1001, 'server shutting down', true]);
  clock.advance(d.delayMs);
  assert.equal(sockets.length, 2);
});

test('bye with reconnect:false and terminal close codes stop the client and say why', () => {
  for (const [bye, code, reason] of [
    [true, 1008, 'disconnected by the server'],
    [false, 1008, 'rate limit exceeded'],
    [false, 1003, 'binary frames are not accepted'],
    [false, 1009, 'message too big'],
  ]) {
    const { client, sockets, clock, events } = setup();
    client.connect();
    sockets[0].welcome();
    if (bye) sockets[0].receive({ op: 'bye', code, reason, reconnect: false });
    sockets[0].serverClose(code, reason);
    assert.equal(client.state, 'closed');
    assert.deepEqual(events.at(-1), ['disconnected', { code, reason, reconnect: false }]);
    clock.advance(60000);
    assert.equal(sockets.length, 1, `no reconnect after ${code} ${reason}`);
  }
});

test('disconnect() stops for good until connect()', () => {
  const { client, sockets, clock } = setup();
  client.connect();
  sockets[0].welcome();
  client.disconnect();
  assert.equal(client.state, 'closed');
  assert.ok(sockets[0].closed);
  clock.advance(60000);
  assert.equal(sockets.length, 1);
  client.connect();
  assert.equal(sockets.length, 2);
});

test('no welcome within connectTimeoutMs: the attempt is dropped and retried', () => {
  const { client, sockets, clock, events } = setup({ connectTimeoutMs: 3000 });
  client.connect();
  clock.advance(2999);
  assert.equal(client.state, 'connecting');
  clock.advance(1);
  assert.equal(client.state, 'disconnected');
  assert.equal(events.at(-1)[1].reason, 'connect timeout');
  assert.ok(sockets[0].closed);
});

test('heartbeat: ping after silence; no answer in time means dead, then reconnect', () => {
  const { client, sockets, clock, events } = setup();
  client.connect();
  sockets[0].welcome();
  clock.advance(4999);
  assert.equal(sockets[0].last('ping'), undefined);
  clock.advance(1);
  const ping = sockets[0].last('ping');
  assert.ok(ping && ping.id > 0);
  sockets[0].receive({ op: 'pong', id: ping.id });
  clock.advance(4999);
  assert.equal(client.state, 'connected', 'the pong proved it alive');
  clock.advance(1 + 1999);
  assert.equal(client.state, 'connected');
  clock.advance(1);
  assert.equal(client.state, 'disconnected');
  assert.equal(events.at(-1)[1].reason, 'heartbeat timeout');
});

test('heartbeat reads the wall clock: one late timer after a sleep finds the dead connection', () => {
  const { client, sockets, clock } = setup();
  client.connect();
  sockets[0].welcome();
  clock.jump(3_600_000); // an hour asleep, no timer ran
  clock.fireOne(); // the first timer after waking
  assert.ok(sockets[0].last('ping'), 'pinged at the first tick after waking');
  clock.jump(2000);
  clock.fireOne();
  assert.equal(client.state, 'disconnected');
});

test('a pending request holds back the pong, so it extends the heartbeat deadline', () => {
  const { client, sockets, clock } = setup();
  client.connect();
  sockets[0].welcome();
  client.request('bob', 1, { timeoutMs: 30000 }).catch(() => {});
  clock.advance(5000);
  assert.ok(sockets[0].last('ping'));
  clock.advance(20000);
  assert.equal(client.state, 'connected', 'the pong waits behind the req');
  sockets[0].receive({ op: 'res', id: sockets[0].last('req').id, from: 'bob', data: 2 });
  assert.equal(client.state, 'connected');
});

test('online and visibilitychange: reconnect at once, or probe the open connection', () => {
  const win = new EventTarget();
  const doc = new EventTarget();
  doc.visibilityState = 'hidden';
  const { client, sockets, clock } = setup({ window: win, document: doc, minReconnectDelayMs: 5000, maxReconnectDelayMs: 5000 });
  client.connect();
  sockets[0].serverClose(1006);
  assert.equal(sockets.length, 1);
  win.dispatchEvent(new Event('online'));
  assert.equal(sockets.length, 2, 'online: no waiting for the backoff');
  sockets[1].welcome();
  clock.advance(1000);
  doc.visibilityState = 'visible';
  doc.dispatchEvent(new Event('visibilitychange'));
  assert.ok(sockets[1].last('ping'), 'visible again: probe');
  clock.advance(2000);
  assert.equal(client.state, 'disconnected', 'the probe went unanswered');
  client.disconnect();
  win.dispatchEvent(new Event('online'));
  assert.equal(sockets.length, 2, 'listeners are removed on disconnect()');
});

test('publish, send, presence and request resolve from their answers', async () => {
  const { client, sockets } = setup();
  client.connect();
  const s = sockets[0];
  s.welcome();
  const pub = client.publish('news', { t: 1 });
  s.receive({ op: 'ok', id: s.last('pub').id, seq: 7 });
  assert.deepEqual(await pub, { seq: 7 });
  const send = client.send(['a', 'b'], 'hi');
  assert.deepEqual(s.last('send').to, ['a', 'b']);
  s.receive({ op: 'ok', id: s.last('send').id });
  assert.equal(await send, undefined);
  const pres = client.presence('news');
  s.receive({ op: 'ok', id: s.last('presence').id, users: [{ user: 'a', info: null, conns: 2 }], count: 1 });
  assert.deepEqual(await pres, { users: [{ user: 'a', info: null, conns: 2 }], count: 1, truncated: false });
  const req = client.request('bob', { q: 1 }, { timeoutMs: 1500 });
  assert.equal(s.last('req').timeout_ms, 1500);
  s.receive({ op: 'res', id: s.last('req').id, from: 'bob', data: { a: 2 } });
  assert.deepEqual(await req, { a: 2 });
});

test('an error answer rejects with the code and reason', async () => {
  const { client, sockets } = setup();
  client.connect();
  sockets[0].welcome();
  const p = client.send('nobody', 1);
  sockets[0].receive({ op: 'error', id: sockets[0].last('send').id, code: 'no_such_user', reason: 'no such user' });
  await assert.rejects(p, (e) => e instanceof RingcastError && e.code === 'no_such_user' && e.reason === 'no such user');
});

test('no answer in time rejects with timeout', async () => {
  const { client, sockets, clock } = setup({ callTimeoutMs: 3000 });
  client.connect();
  sockets[0].welcome();
  const p = client.publish('r', 1);
  clock.advance(3000);
  await assert.rejects(p, { code: 'timeout' });
});

test('calls while disconnected wait in a bounded queue and go out in order after welcome', async () => {
  const { client, sockets, clock } = setup({ maxQueued: 2 });
  client.connect();
  const a = client.publish('r', 'a');
  const b = client.publish('r', 'b');
  await assert.rejects(client.publish('r', 'c'), { code: 'queue_full' });
  assert.equal(sockets[0].sent.length, 0);
  sockets[0].welcome();
  const pubs = sockets[0].sent.filter((c) => c.op === 'pub');
  assert.deepEqual(pubs.map((c) => c.data), ['a', 'b']);
  for (const c of pubs) sockets[0].receive({ op: 'ok', id: c.id });
  await Promise.all([a, b]);
  // A queued call still times out.
  sockets[0].serverClose(1006);
  const late = client.publish('r', 'late', { timeoutMs: 50 });
  clock.advance(50);
  await assert.rejects(late, { code: 'timeout' });
  clock.advance(1000);
  sockets.at(-1).welcome();
  assert.equal(sockets.at(-1).last('pub'), undefined, 'a timed-out call is never sent');
});

test("whileDisconnected 'reject' fails at once; calls in flight fail with disconnected", async () => {
  const { client, sockets } = setup({ whileDisconnected: 'reject' });
  client.connect();
  await assert.rejects(client.publish('r', 1), { code: 'offline' });
  sockets[0].welcome();
  const p = client.publish('r', 2);
  sockets[0].serverClose(1006);
  await assert.rejects(p, { code: 'disconnected' });
  client.disconnect();
  await assert.rejects(client.publish('r', 3), { code: 'closed' });
});

test('onRequest answers a req with res and the rid; a throwing handler reports an error', async () => {
  const { client, sockets, events } = setup({
    onRequest: async (data, { from }) => {
      if (data === 'boom') throw new Error('handler failed');
      return { echo: data, from };
    },
  });
  client.connect();
  sockets[0].welcome();
  sockets[0].receive({ op: 'req', from: 'alice', rid: '0.1.ab', data: 'x' });
  await settle();
  assert.deepEqual(sockets[0].last('res'), { op: 'res', rid: '0.1.ab', data: { echo: 'x', from: 'alice' } });
  sockets[0].receive({ op: 'req', from: 'alice', rid: '0.2.cd', data: 'boom' });
  await settle();
  assert.equal(sockets[0].sent.filter((c) => c.op === 'res').length, 1);
  assert.ok(events.some(([e, x]) => e === 'error' && x.message === 'handler failed'));
});

test('direct messages are client events', () => {
  const { client, sockets } = setup();
  const got = [];
  client.on('message', (data, ctx) => got.push([data, ctx.from]));
  client.connect();
  sockets[0].welcome();
  sockets[0].receive({ op: 'msg', from: '$server', data: { hi: 1 } });
  assert.deepEqual(got, [[{ hi: 1 }, '$server']]);
});

test('a missing WebSocket and a bad policy are refused with a clear error', () => {
  const saved = globalThis.WebSocket;
  globalThis.WebSocket = undefined;
  try {
    assert.throws(() => new Client('ws://x/ws'), /no global WebSocket/);
  } finally {
    globalThis.WebSocket = saved;
  }
  assert.throws(() => new Client('ws://x/ws', { WebSocket: class {}, whileDisconnected: 'drop' }), /whileDisconnected/);
});

test('subscribing from the connected listener sends one sub', () => {
  const { client, sockets } = setup();
  client.on('connected', () => client.subscribe('late'));
  client.connect();
  sockets[0].welcome();
  assert.equal(sockets[0].sent.filter((c) => c.op === 'sub' && c.room === 'late').length, 1);
});

test('a relative URL is resolved against the page, http(s) turned into ws(s)', () => {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'location');
  Object.defineProperty(globalThis, 'location', { value: { href: 'https://app.example/chat/room?x=1' }, configurable: true });
  try {
    const { FakeSocket, sockets } = socketFactory();
    new Client('/ws', { WebSocket: FakeSocket, clock: new FakeClock(), user: 'a b' }).connect();
    assert.equal(sockets[0].url, 'wss://app.example/ws?user=a+b');
  } finally {
    if (saved) Object.defineProperty(globalThis, 'location', saved);
    else delete globalThis.location;
  }
});
