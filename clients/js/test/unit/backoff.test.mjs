import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from '../../src/index.js';

test('delays grow exponentially from min up to max at the top of the jitter range', () => {
  const b = new Backoff(500, 5000, () => 0.999999);
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => b.next()), [500, 1000, 2000, 4000, 5000, 5000]);
});

test('full jitter: the bottom of the range is 0, whatever the attempt', () => {
  const b = new Backoff(500, 5000, () => 0);
  assert.deepEqual([1, 2, 3, 4, 5].map(() => b.next()), [0, 0, 0, 0, 0]);
});

test('full jitter: a delay is uniform over [0, cap], cap = min(max, min * 2^attempt)', () => {
  const b = new Backoff(100, 100000, () => 0.5);
  b.attempt = 4; // cap 1600
  assert.equal(b.next(), 800);
  const capped = new Backoff(100, 1000, () => 0.25);
  capped.attempt = 6; // 6400, capped at 1000
  assert.equal(capped.next(), 250);
});

test('reset starts over from the first delay', () => {
  const b = new Backoff(200, 10000, () => 0.999999);
  b.next();
  b.next();
  b.next();
  b.reset();
  assert.equal(b.next(), 200);
});

test('many attempts do not overflow past max', () => {
  const b = new Backoff(1, 30000, () => 0.999999);
  b.attempt = 5000;
  assert.equal(b.next(), 30000);
});

test('bad bounds are refused with a clear error', () => {
  assert.throws(() => new Backoff(-1, 10), /0 <= minMs <= maxMs/);
  assert.throws(() => new Backoff(100, 10), /0 <= minMs <= maxMs/);
});
