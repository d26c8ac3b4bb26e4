// The per-room state machine, recovery and duplicate dropping, against a fake socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '../../src/index.js';
import { FakeClock, socketFactory } from './fakes.mjs';

function setup(options = {}) {
  const clock = new FakeClock();
  const { FakeSocket, sockets } = socketFactory();
  const client = new Client('ws://127.0.0.1:1/ws', {
    WebSocket: FakeSocket,
    clock,
    random: () => 0,
    minReconnectDelayMs: 100,
    ...options,
  });
  client.connect();
  sockets[0].welcome();
  return { clock, sockets, client, last: () => sockets.at(-1) };
}

/** Subscribes and records the room's events; `got` holds delivered data. */
function watch(client, room, options) {
  const sub = client.subscribe(room, options);
  const events = [];
  const got = [];
  for (const e of ['subscribing', 'subscribed', 'unsubscribed', 'join', 'leave', 'gap', 'error', 'recoveryFailed']) {
    sub.on(e, (x) => events.push([e, x]));
  }
  sub.on('message', (data) => got.push(data));
  return { sub, events, got };
}

function ok(socket, room, fields) {
  const sub = socket.sent.filter((c) => c.op === 'sub' && c.room === room).at(-1);
  socket.receive({ op: 'ok', id: sub.id, ...fields });
  return sub;
}

const msg = (room, seq, data = seq) => ({ op: 'msg', room, seq, from: 'x', data });

test('subscribing, then subscribed on ok; messages of the room reach it', () => {
  const { client, last } = setup();
  const { sub, events, got } = watch(client, 'chat:a');
  assert.equal(sub.state, 'subscribing');
  ok(last(), 'chat:a', { seq: 4, epoch: 'e1' });
  assert.equal(sub.state, 'subscribed');
  assert.deepEqual(events.at(-1), ['subscribed', { recovered: undefined, seq: 4, epoch: 'e1' }]);
  last().receive(msg('chat:a', 5));
  last().receive(msg('other', 9));
  assert.deepEqual(got, [5]);
  assert.deepEqual(sub.position, { seq: 5, epoch: 'e1' });
});

test('reconnect resubscribes with since, and replayed duplicates are dropped', () => {
  const { client, last, clock } = setup();
  const { sub, events, got } = watch(client, 'chat:a', { presence: true });
  ok(last(), 'chat:a', { seq: 0, epoch: 'e1' });
  for (const s of [1, 2, 3]) last().receive(msg('chat:a', s));
  last().serverClose(1006);
  assert.equal(sub.state, 'subscribing');
  assert.deepEqual(events.at(-1), ['subscribing', { reason: 'disconnected' }]);
  clock.advance(100);
  last().welcome();
  const resub = last().last('sub');
  assert.deepEqual([resub.since, resub.presence], [{ seq: 3, epoch: 'e1' }, true]);
  // The replay starts earlier than needed (another tab's position, say): 2 and 3 are old.
  for (const s of [2, 3, 4, 5]) last().receive(msg('chat:a', s));
  ok(last(), 'chat:a', { seq: 5, epoch: 'e1', recovered: true });
  last().receive(msg('chat:a', 5));
  last().receive(msg('chat:a', 6));
  assert.deepEqual(got, [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(events.at(-1), ['subscribed', { recovered: true, seq: 5, epoch: 'e1' }]);
  assert.deepEqual(sub.position, { seq: 6, epoch: 'e1' });
});

test('a new epoch (history lost) starts seqs over and calls the recovery hook', () => {
  const { client, last, clock } = setup();
  const hook = [];
  const { sub, got, events } = watch(client, 'chat:a', { onRecoveryFailed: (info, s) => hook.push([info, s]) });
  ok(last(), 'chat:a', { seq: 10, epoch: 'e1' });
  for (const s of [11, 12]) last().receive(msg('chat:a', s));
  last().serverClose(1006);
  clock.advance(100);
  last().welcome();
  // The restarted server's room already has seq 1 and 2: they race the ok, in the new epoch.
  last().receive(msg('chat:a', 1, 'new1'));
  ok(last(), 'chat:a', { seq: 1, epoch: 'e2', recovered: false });
  last().receive(msg('chat:a', 2, 'new2'));
  assert.deepEqual(got, [11, 12, 'new1', 'new2'], 'new seqs are not mistaken for old ones');
  assert.equal(hook.length, 1);
  assert.deepEqual(hook[0][0], { recovered: false, seq: 1, epoch: 'e2' });
  assert.equal(hook[0][1], sub);
  assert.ok(events.some(([e]) => e === 'recoveryFailed'));
  assert.deepEqual(sub.position, { seq: 2, epoch: 'e2' });
});

test('same epoch with recovered:false (history too short) still calls the hook', () => {
  const { client, last, clock } = setup();
  let calls = 0;
  const { got } = watch(client, 'r', { onRecoveryFailed: () => calls++ });
  ok(last(), 'r', { seq: 0, epoch: 'e' });
  last().receive(msg('r', 1));
  last().serverClose(1006);
  clock.advance(100);
  last().welcome();
  last().receive(msg('r', 40));
  ok(last(), 'r', { seq: 40, epoch: 'e', recovered: false });
  assert.deepEqual(got, [1, 40]);
  assert.equal(calls, 1);
});

test('since given by the app is used on the first sub', () => {
  const { client, last } = setup();
  watch(client, 'r', { since: { seq: 7, epoch: 'e9' } });
  assert.deepEqual(last().last('sub').since, { seq: 7, epoch: 'e9' });
});

test('a room without history delivers everything and keeps no position', () => {
  const { client, last, clock } = setup();
  const { sub, got } = watch(client, 'plain');
  ok(last(), 'plain', {});
  last().receive({ op: 'msg', room: 'plain', from: 'x', data: 'a' });
  last().serverClose(1006);
  clock.advance(100);
  last().welcome();
  assert.equal(last().last('sub').since, undefined);
  ok(last(), 'plain', {});
  last().receive({ op: 'msg', room: 'plain', from: 'x', data: 'a' });
  assert.deepEqual(got, ['a', 'a']);
  assert.equal(sub.position, null);
});

test('gap frame: a history room resubscribes with since; a plain room is only told', () => {
  const { client, last } = setup();
  const h = watch(client, 'hist');
  const p = watch(client, 'plain');
  ok(last(), 'hist', { seq: 3, epoch: 'e' });
  ok(last(), 'plain', {});
  const before = last().sent.length;
  last().receive({ op: 'gap', room: 'plain' });
  assert.equal(last().sent.length, before);
  assert.deepEqual(p.events.at(-1), ['gap', { room: 'plain', reason: 'server' }]);
  last().receive({ op: 'gap', room: 'hist' });
  assert.deepEqual(last().sent.slice(before).map((c) => [c.op, c.room, c.since]), [
    ['unsub', 'hist', undefined],
    ['sub', 'hist', { seq: 3, epoch: 'e' }],
  ]);
  assert.equal(h.sub.state, 'subscribing');
  last().receive(msg('hist', 4));
  ok(last(), 'hist', { seq: 4, epoch: 'e', recovered: true });
  assert.deepEqual(h.got, [4]);
});

test('a jump in seq resubscribes from the last seq instead of delivering out of order', () => {
  const { client, last } = setup();
  const { got, events } = watch(client, 'r');
  ok(last(), 'r', { seq: 0, epoch: 'e' });
  last().receive(msg('r', 1));
  last().receive(msg('r', 3));
  assert.deepEqual(got, [1]);
  assert.deepEqual(events.find((e) => e[0] === 'gap'), ['gap', { room: 'r', reason: 'seq' }]);
  assert.deepEqual(last().last('sub').since, { seq: 1, epoch: 'e' });
  for (const s of [2, 3]) last().receive(msg('r', s));
  ok(last(), 'r', { seq: 3, epoch: 'e', recovered: true });
  assert.deepEqual(got, [1, 2, 3]);
});

test('an ok from an earlier attempt is ignored', () => {
  const { client, last, clock } = setup();
  const { sub } = watch(client, 'r');
  const first = last();
  const firstSub = first.last('sub');
  first.serverClose(1006);
  clock.advance(100);
  last().welcome();
  first.onmessage = last().onmessage; // a stale answer arriving late on the new path
  first.receive({ op: 'ok', id: firstSub.id, seq: 1, epoch: 'old' });
  assert.equal(sub.state, 'subscribing');
});

test('a refused sub ends the subscription with the error; unsubscribe sends unsub', () => {
  const { client, last } = setup();
  const a = watch(client, '@bob');
  const id = last().last('sub').id;
  last().receive({ op: 'error', id, code: 'not_allowed', reason: 'personal room' });
  assert.equal(a.sub.state, 'unsubscribed');
  assert.equal(a.events.at(-1)[0], 'error');
  assert.equal(a.events.at(-1)[1].code, 'not_allowed');
  assert.equal(client.subscriptions.has('@bob'), false);
  const b = watch(client, 'r');
  ok(last(), 'r', {});
  b.sub.unsubscribe();
  assert.deepEqual(last().last('unsub'), { op: 'unsub', room: 'r' });
  assert.deepEqual(b.events.at(-1), ['unsubscribed', { reason: 'unsubscribe' }]);
  assert.equal(client.subscriptions.has('r'), false);
  last().receive(msg('r', 1));
  assert.deepEqual(b.got, []);
  assert.throws(() => client.subscribe(''), /non-empty/);
  client.subscribe('x');
  assert.throws(() => client.subscribe('x'), /already subscribed/);
});

test('join and leave reach the room', () => {
  const { client, last } = setup();
  const { events } = watch(client, 'r', { presence: true });
  ok(last(), 'r', {});
  last().receive({ op: 'join', room: 'r', user: 'bob', info: { n: 1 } });
  last().receive({ op: 'leave', room: 'r', user: 'bob', info: { n: 1 } });
  assert.deepEqual(events.slice(-2), [
    ['join', { room: 'r', user: 'bob', info: { n: 1 } }],
    ['leave', { room: 'r', user: 'bob', info: { n: 1 } }],
  ]);
});

test('subscribing before connect sends every sub in the first frame after welcome', () => {
  const clock = new FakeClock();
  const { FakeSocket, sockets } = socketFactory();
  const client = new Client('ws://h/ws', { WebSocket: FakeSocket, clock });
  client.subscribe('a');
  client.subscribe('b');
  client.connect();
  sockets[0].welcome();
  assert.deepEqual(sockets[0].sent.map((c) => [c.op, c.room]), [['sub', 'a'], ['sub', 'b']]);
});

test('a refusal that may pass retries the sub on the room backoff; the connection stays', () => {
  // At the top of the jitter range: the room's backoff waits 100 ms, then 200 ms.
  const { client, last, clock } = setup({ random: () => 0.999999 });
  const { sub, events } = watch(client, 'r');
  const socket = last();
  socket.receive({ op: 'error', id: socket.last('sub').id, code: 'rate_limited', reason: 'too many commands' });
  assert.equal(sub.state, 'subscribing');
  assert.equal(events.at(-1)[1].code, 'rate_limited');
  const subs = () => socket.sent.filter((c) => c.op === 'sub').length;
  clock.advance(99);
  assert.equal(subs(), 1);
  clock.advance(1);
  assert.equal(subs(), 2, 'retried after the first backoff step');
  assert.equal(socket.last('unsub'), undefined, 'nothing to unsub after a refusal');
  socket.receive({ op: 'error', id: socket.last('sub').id, code: 'unavailable', reason: 'redis down' });
  clock.advance(199);
  assert.equal(subs(), 2, 'the second retry waits its longer backoff too');
  clock.advance(1);
  assert.equal(subs(), 3);
  ok(socket, 'r', {});
  assert.equal(sub.state, 'subscribed');
  assert.equal(client.state, 'connected');
  assert.equal(last(), socket, 'no reconnect for a room');
});
