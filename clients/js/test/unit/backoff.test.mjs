import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from '../../src/index.js';

test('delays grow exponentially from min up to max at the top of the jitter range', () => {
  const b = new Backoff(500, 5000, () => 0.999999);
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => b.next()), [500, 1000, 2000, 4000, 5000, 5000]);
});

test('the bottom of the jitter range is min, whatever the attempt', () => {
  const b = new Backoff(500, 5000, () => 0);
  assert.deepEqual([1, 2, 3, 4, 5].map(() => b.next()), [500, 500, 500, 500, 500]);
});

test('full jitter: a delay is uniform over [min, cap]', () => {
  const b = new Backoff(100, 100000, () => 0.5);
  b.attempt = 4; // cap 1600
  assert.equal(b.next(), 850);
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
