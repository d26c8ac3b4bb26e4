// Backoff: reconnect delays, exponential with full jitter. Attempt n (from 0) waits a uniformly
// random time in [0, cap] with cap = min(maxMs, minMs * 2^n): minMs is the base of the growth
// (the first attempt's cap), maxMs its ceiling. A fleet of clients cut off at the same instant
// (a server restart) spreads its reconnects over the whole window instead of arriving in one
// wave, while a single client's first retry still comes within minMs. reset() once a
// connection has proved itself.
export class Backoff {
  /**
   * @param {number} minMs base: the first attempt's cap, doubled for each further attempt
   * @param {number} maxMs cap of the exponential growth
   * @param {() => number} random uniform in [0, 1)
   */
  constructor(minMs, maxMs, random = Math.random) {
    if (!(minMs >= 0) || !(maxMs >= minMs)) {
      throw new RangeError(`backoff needs 0 <= minMs <= maxMs (got ${minMs}, ${maxMs})`);
    }
    this.minMs = minMs;
    this.maxMs = maxMs;
    this.random = random;
    this.attempt = 0;
  }

  /** The delay before the next attempt; each call counts one attempt. */
  next() {
    const cap = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(this.random() * cap);
  }

  reset() {
    this.attempt = 0;
  }
}
