// End to end in Node: the CommonJS build with the `ws` package against the real ringcast binary.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { ringcast, WebSocket, Server, Redis, killServers, adopt, Proxy, freePort, waitFor, tempConfig, record, HISTORY_CONFIG, TIMEOUT } from '../support.mjs';

const { Client } = ringcast;
const config = tempConfig(HISTORY_CONFIG);
const clients = [];
after(() => {
  for (const c of clients) c.disconnect();
  killServers();
});

function client(url, options = {}) {
  const c = new Client(url, { WebSocket, minReconnectDelayMs: 50, maxReconnectDelayMs: 300, ...options });
  clients.push(c);
  return c;
}

/** Subscribes and collects the `n` field of every message. */
function collect(c, room, options) {
  const sub = c.subscribe(room, options);
  const got = [];
  const log = record(sub, ['subscribed', 'recoveryFailed', 'gap']);
  sub.on('message', (data) => got.push(data.n));
  return { sub, got, log };
}

const inOrder = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const here = path.dirname(new URL(import.meta.url).pathname);

test('reconnects after the server is killed and started again', TIMEOUT, async () => {
  const server = await new Server(await freePort(), ['--config', config]).start();
  const c = client(server.url, { user: 'alice' });
  const log = record(c, ['connected', 'disconnected']);
  const { got } = collect(c, 'plain');
  c.connect();
  await waitFor(() => c.subscriptions.get('plain').state === 'subscribed', 'subscribed');
  await server.api('publish', { room: 'plain', data: { n: 1 } });
  await waitFor(() => got.length === 1, 'first message');
  await server.stop('SIGKILL');
  await waitFor(() => c.state !== 'connected', 'the loss noticed');
  await server.start();
  await waitFor(() => c.state === 'connected' && c.subscriptions.get('plain').state === 'subscribed', 'reconnected');
  await server.api('publish', { room: 'plain', data: { n: 2 } });
  await waitFor(() => got.length === 2, 'message after restart');
  assert.deepEqual(got, [1, 2]);
  const connected = log.filter((e) => e[0] === 'connected');
  assert.equal(connected.length, 2);
  assert.equal(connected[1][1].user, 'alice');
  assert.equal(log.find((e) => e[0] === 'disconnected')[1].reconnect, true);
  c.disconnect();
  await server.stop();
});

test('a Node process whose only live thing is a reconnecting client stays alive, and exits after disconnect()', TIMEOUT, async () => {
  const server = await new Server(await freePort(), ['--config', config]).start();
  // Plain `node`: nothing but the client can keep this process alive.
  const child = adopt(spawn(process.execPath, [path.join(here, 'keepalive-child.cjs'), server.url, 'keepalive'], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const events = [];
  let text = '';
  child.stdout.on('data', (d) => {
    text += d;
    for (let i; (i = text.indexOf('\n')) >= 0; text = text.slice(i + 1)) events.push(JSON.parse(text.slice(0, i)));
  });
  let exited = null;
  const exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve((exited = { code, signal }))));
  const count = (name) => events.filter((e) => e.event === name).length;
  const alive = (what) => assert.equal(exited, null, `the child exited ${what}: ${JSON.stringify(exited)} after ${JSON.stringify(events)}`);
  try {
    await waitFor(() => count('subscribed') === 1 || exited, 'the child subscribed');
    alive('before the server went');
    await server.stop('SIGKILL');
    // Server gone: between attempts the child has no socket, only the client's timer. Three
    // losses (the first and two refused attempts) show it kept trying.
    await waitFor(() => count('disconnected') >= 3 || exited, 'the child retrying');
    alive('while reconnecting');
    await server.start();
    await waitFor(() => count('subscribed') === 2 || exited, 'the child back after the restart');
    alive('before the restart was seen');
    await server.api('publish', { room: 'keepalive', data: { n: 2 } });
    await waitFor(() => exited, 'the child to exit by itself after disconnect()');
    assert.deepEqual(await exit, { code: 0, signal: null });
    assert.deepEqual(events.filter((e) => e.event === 'message'), [{ event: 'message', n: 2 }]);
    const losses = events.filter((e) => e.event === 'disconnected');
    assert.ok(losses.slice(0, -1).every((e) => e.reconnect === true), 'every loss before disconnect() reconnects');
    assert.deepEqual(losses.at(-1), { event: 'disconnected', code: 1000, reconnect: false });
  } finally {
    child.kill('SIGKILL');
    await server.stop();
  }
});

test('drain: bye and 1001 reconnect; the lost history calls the hook; new seqs are not taken for duplicates', TIMEOUT, async () => {
  const server = await new Server(await freePort(), ['--config', config]).start();
  const c = client(server.url);
  const disconnects = record(c, ['disconnected']);
  const hook = [];
  const { got, sub } = collect(c, 'h:drain', { onRecoveryFailed: (info) => hook.push(info) });
  c.connect();
  await waitFor(() => sub.state === 'subscribed', 'subscribed');
  for (let n = 1; n <= 5; n++) await server.api('publish', { room: 'h:drain', data: { n } });
  await waitFor(() => got.length === 5, 'five messages');
  const oldEpoch = sub.epoch;
  const exit = await server.stop('SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null }, 'the drain exits 0');
  assert.deepEqual(disconnects[0][1].code, 1001);
  assert.equal(disconnects[0][1].reconnect, true);
  await server.start();
  await waitFor(() => hook.length === 1 && sub.state === 'subscribed', 'resubscribed after restart');
  assert.equal(hook[0].recovered, false);
  assert.notEqual(sub.epoch, oldEpoch);
  // The new server numbers this room from 1 again: seqs 1..3 must not be dropped as seen.
  for (let n = 6; n <= 8; n++) await server.api('publish', { room: 'h:drain', data: { n } });
  await waitFor(() => got.length >= 8, 'messages after restart');
  assert.deepEqual(got, inOrder(1, 8));
  assert.deepEqual(sub.position, { seq: 3, epoch: sub.epoch });
  c.disconnect();
  await server.stop();
});

test('rolling restart with history in Redis: bye, publishing on through another node, recovered', TIMEOUT, async () => {
  const redis = await new Redis(await freePort()).start();
  const node = async (id) => (await new Server(await freePort(), ['--config', config, '--redis', redis.url, '--node-id', id, '--no-pin']).start()).redisUp();
  const a = await node('nodeA');
  const b = await node('nodeB');
  const c = client(a.url, { user: 'roller' });
  const disconnects = record(c, ['disconnected']);
  const { got, sub, log } = collect(c, 'h:roll');
  c.connect();
  await waitFor(() => sub.state === 'subscribed', 'subscribed on A');
  assert.equal(c.session.node, 'nodeA');
  // Everything is published through node B: it reaches the client on A through Redis.
  let n = 0;
  const publish = () => b.api('publish', { room: 'h:roll', data: { n: ++n } });
  for (let i = 0; i < 5; i++) await publish();
  await waitFor(() => got.length === 5, 'five messages through B');
  let stop = false;
  let failed = null;
  const publisher = (async () => {
    try {
      while (!stop) {
        await publish();
        await sleep(5);
      }
    } catch (e) {
      failed = e;
    }
  })();
  try {
    // Node A drains (SIGTERM): bye, close 1001, exit 0. The client retries it meanwhile.
    const exit = await a.stop('SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null }, 'the drain exits 0');
    await waitFor(() => disconnects.length >= 1, 'the drain seen');
    const bye = disconnects[0][1];
    assert.deepEqual([bye.code, bye.reason, bye.reconnect], [1001, 'server shutting down', true]);
    const atStop = n;
    await waitFor(() => n >= atStop + 20 || failed, 'publishing through B while A is down');
    await (await a.start()).redisUp(); // the same node again, on its port
    await waitFor(() => (c.state === 'connected' && sub.state === 'subscribed' && log.filter((e) => e[0] === 'subscribed').length >= 2) || failed, 'back on A');
    const atBack = n;
    await waitFor(() => n >= atBack + 20 || failed, 'publishing on after the restart');
  } finally {
    stop = true;
    await publisher;
  }
  assert.equal(failed, null, `a publication through B failed: ${failed}`);
  const total = n;
  await waitFor(() => got.length >= total, `all ${total} messages`, 20000).catch((e) => {
    throw new Error(`${e.message}: got ${got.length}, last ${got.at(-1)}, ${JSON.stringify(log)}, ${JSON.stringify(disconnects)}`);
  });
  assert.deepEqual(got, inOrder(1, total), 'every message once, in order');
  const resubscribed = log.filter((e) => e[0] === 'subscribed').slice(1);
  assert.ok(resubscribed.length >= 1 && resubscribed.every((e) => e[1].recovered === true), `the history in Redis survived the node: ${JSON.stringify(log)}`);
  assert.equal(log.filter((e) => e[0] === 'recoveryFailed').length, 0);
  assert.equal(c.session.node, 'nodeA');
  assert.ok(disconnects.every((e) => e[1].reconnect === true));
  c.disconnect();
  await a.stop();
  await b.stop();
  await redis.stop();
});

test('gapless across cut and blackholed connections while a publisher keeps publishing', TIMEOUT, async () => {
  const server = await new Server(await freePort(), ['--config', config]).start();
  const proxy = new Proxy(server.port);
  const proxyPort = await proxy.listen();
  const c = client(`ws://127.0.0.1:${proxyPort}/ws`, { pingIntervalMs: 300, pongTimeoutMs: 1000, tickMs: 50 });
  const { got, sub, log } = collect(c, 'h:live');
  const disconnects = record(c, ['disconnected']);
  c.connect();
  await waitFor(() => sub.state === 'subscribed', 'subscribed');
  // The backend publishes on until the test has seen every outage, paced (about 1000 a second
  // at most) so that an outage of a few seconds stays within the room's history of 10000.
  let published = 0;
  let stop = false;
  const publisher = (async () => {
    while (!stop && published < 9000) {
      published++;
      await server.api('publish', { room: 'h:live', data: { n: published } });
      await new Promise((r) => setTimeout(r, 1));
    }
  })();
  await waitFor(() => published >= 100, '100 published');
  const atCut = published;
  proxy.cut(); // reset: seen at once
  await waitFor(() => disconnects.length >= 1 && sub.state === 'subscribed' && published > atCut + 50, 'back after the cut');
  const beforeBlackhole = disconnects.length;
  const atBlackhole = published;
  proxy.blackhole(); // silent: only the heartbeat can tell
  await waitFor(() => disconnects.length > beforeBlackhole && sub.state === 'subscribed' && published > atBlackhole + 50, 'back after the blackhole');
  const atLastCut = published;
  proxy.cut();
  await waitFor(() => published > atLastCut + 50, 'publishing on');
  stop = true;
  await publisher;
  const total = published;
  await waitFor(() => got.length >= total && sub.state === 'subscribed', `all ${total} messages`, 20000).catch((e) => {
    throw new Error(`${e.message}: got ${got.length}, last ${got.at(-1)}, ${sub.state}, ${JSON.stringify(log)}, ${JSON.stringify(disconnects)}`);
  });
  assert.deepEqual(got, inOrder(1, total), 'every message once, in order');
  assert.equal(disconnects[beforeBlackhole][1].reason, 'heartbeat timeout');
  const resubs = log.filter((e) => e[0] === 'subscribed').slice(1);
  assert.ok(resubs.length >= 2);
  assert.ok(resubs.every((e) => e[1].recovered === true), JSON.stringify(resubs));
  assert.equal(log.filter((e) => e[0] === 'recoveryFailed').length, 0);
  assert.ok(proxy.connections >= 3);
  c.disconnect();
  proxy.close();
  await server.stop();
});

function jwt(secret, claims) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = b64({ alg: 'HS256', typ: 'JWT' }) + '.' + b64(claims);
  return body + '.' + crypto.createHmac('sha256', secret).update(body).digest('base64url');
}

test('an expired token is refreshed through getToken and the room recovers', TIMEOUT, async () => {
  const secret = 'test-secret-0123456789';
  const server = await new Server(await freePort(), ['--config', config, '--jwt-secret', secret]).start();
  const reasons = [];
  const c = client(server.url, {
    getToken: async ({ reason }) => {
      reasons.push(reason);
      const now = Math.floor(Date.now() / 1000);
      return jwt(secret, { sub: 'carol', exp: reasons.length === 1 ? now + 2 : now + 600 });
    },
  });
  const disconnects = record(c, ['disconnected', 'connected']);
  const { got, sub, log } = collect(c, 'h:tok');
  c.connect();
  await waitFor(() => sub.state === 'subscribed', 'subscribed');
  assert.equal(c.session.user, 'carol');
  let n = 0;
  await server.api('publish', { room: 'h:tok', data: { n: ++n } });
  await waitFor(() => disconnects.some((e) => e[0] === 'disconnected'), 'the expiry close', 5000);
  const close = disconnects.find((e) => e[0] === 'disconnected')[1];
  assert.deepEqual([close.code, close.reason, close.reconnect, close.delayMs], [1008, 'token expired', true, 0]);
  await server.api('publish', { room: 'h:tok', data: { n: ++n } }); // while it reconnects, or after
  await waitFor(() => c.state === 'connected' && sub.state === 'subscribed' && log.filter((e) => e[0] === 'subscribed').length === 2, 'back');
  await server.api('publish', { room: 'h:tok', data: { n: ++n } });
  await waitFor(() => got.length === 3, 'three messages');
  assert.deepEqual(got, [1, 2, 3]);
  assert.deepEqual(reasons, ['connect', 'expired']);
  assert.equal(log.filter((e) => e[0] === 'subscribed')[1][1].recovered, true);
  c.disconnect();
  await server.stop();
});

test('a refused token stops the client and says why; a fresh token from getToken gets one more try', TIMEOUT, async () => {
  const secret = 'test-secret-0123456789';
  const server = await new Server(await freePort(), ['--config', config, '--jwt-secret', secret]).start();
  const now = () => Math.floor(Date.now() / 1000);
  // Signed with another secret: refused however often it is fetched.
  const reasons = [];
  const bad = client(server.url, {
    getToken: ({ reason }) => {
      reasons.push(reason);
      return jwt('another-secret-0123456789', { sub: 'eve', exp: now() + 600 });
    },
  });
  const badLog = record(bad, ['error', 'disconnected', 'connected']);
  bad.connect();
  await waitFor(() => bad.state === 'closed', 'the client stopped');
  assert.deepEqual(reasons, ['connect', 'expired'], 'asked once more before giving up');
  const errors = badLog.filter((e) => e[0] === 'error').map((e) => e[1]);
  assert.deepEqual(errors.map((e) => [e.code, e.status]), [['refused', 401]]);
  assert.deepEqual(badLog.filter((e) => e[0] !== 'error'), [
    ['disconnected', { code: 1006, reason: 'handshake refused: HTTP 401', reconnect: true, delayMs: 0 }],
    ['disconnected', { code: 1006, reason: 'handshake refused: HTTP 401', reconnect: false }],
  ]);
  // Without getToken there is nothing to ask: the first refusal stops it.
  const anon = client(server.url, { user: 'mallory' });
  const anonLog = record(anon, ['disconnected']);
  anon.connect();
  await waitFor(() => anon.state === 'closed', 'the anonymous client stopped');
  assert.deepEqual(anonLog, [['disconnected', { code: 1006, reason: 'handshake refused: HTTP 401', reconnect: false }]]);
  // A token that expired between fetch and use, then a good one when asked again.
  const tokens = [jwt(secret, { sub: 'frank', exp: now() - 3600 }), jwt(secret, { sub: 'frank', exp: now() + 600 })];
  const asked = [];
  const good = client(server.url, {
    getToken: ({ reason }) => {
      asked.push(reason);
      return tokens.shift();
    },
  });
  const goodLog = record(good, ['error', 'disconnected']);
  good.connect();
  await waitFor(() => good.state === 'connected', 'connected with the fresh token');
  assert.equal(good.session.user, 'frank');
  assert.deepEqual(asked, ['connect', 'expired']);
  assert.deepEqual(goodLog, [['disconnected', { code: 1006, reason: 'handshake refused: HTTP 401', reconnect: true, delayMs: 0 }]]);
  good.disconnect();
  await server.stop();
});

test('request/response, send, presence and publish between two clients', TIMEOUT, async () => {
  const server = await new Server(await freePort(), ['--config', config]).start();
  const alice = client(server.url, { user: 'alice', onRequest: (data, { from }) => ({ sum: data.a + data.b, from }) });
  const bob = client(server.url, { user: 'bob' });
  const direct = [];
  alice.on('message', (data, ctx) => direct.push([data, ctx.from]));
  const roomA = alice.subscribe('h:chat', { presence: true });
  const joins = record(roomA, ['join']);
  const seen = [];
  roomA.on('message', (data, ctx) => seen.push([data, ctx.from, ctx.seq]));
  alice.connect();
  bob.connect();
  // A call made before the connection is up waits in the queue.
  const queued = bob.publish('h:chat', 'early');
  await waitFor(() => roomA.state === 'subscribed' && bob.state === 'connected', 'both up');
  const roomB = bob.subscribe('h:chat');
  await waitFor(() => roomB.state === 'subscribed', 'bob subscribed');
  await queued;
  assert.deepEqual(await bob.request('alice', { a: 2, b: 3 }), { sum: 5, from: 'bob' });
  await bob.send('alice', { hi: 1 });
  await waitFor(() => direct.length === 1, 'direct message');
  assert.deepEqual(direct, [[{ hi: 1 }, 'bob']]);
  const pres = await alice.presence('h:chat');
  assert.deepEqual(pres.users.map((u) => u.user).sort(), ['alice', 'bob']);
  assert.equal(pres.count, 2);
  const { seq } = await bob.publish('h:chat', 'hello');
  await waitFor(() => seen.some((m) => m[0] === 'hello'), 'the publication');
  assert.deepEqual(seen.at(-1), ['hello', 'bob', seq]);
  await waitFor(() => joins.some((e) => e[1].user === 'bob'), 'join of bob');
  await assert.rejects(bob.request('nobody', 1), { code: 'no_such_user' });
  await assert.rejects(bob.publish('@alice', 1), { code: 'not_allowed' });
  alice.disconnect();
  bob.disconnect();
  await server.stop();
});

test('POST /api/disconnect is terminal: the client stops and says why', TIMEOUT, async () => {
  const server = await new Server(await freePort(), ['--config', config]).start();
  const c = client(server.url, { user: 'dave' });
  const log = record(c, ['disconnected', 'connecting']);
  c.connect();
  await waitFor(() => c.state === 'connected', 'connected');
  await server.api('disconnect', { user: 'dave' });
  await waitFor(() => c.state === 'closed', 'closed');
  assert.deepEqual(log.at(-1), ['disconnected', { code: 1008, reason: 'disconnected by the server', reconnect: false }]);
  await assert.rejects(c.publish('r', 1), { code: 'closed' });
  // Nothing else happens: no new attempt.
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(log.filter((e) => e[0] === 'connecting').length, 1);
  await server.stop();
});
