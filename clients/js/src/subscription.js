import { Emitter } from './emitter.js';
import { Backoff } from './backoff.js';

// Refusals of a `sub` that may pass later: the room retries on its own backoff, without
// touching the connection. Any other error code (not_allowed, limit, ...) ends the subscription.
const RETRY_CODES = new Set(['rate_limited', 'unavailable', 'internal']);

// Subscription: one room of one Client, with its own state machine, independent of the
// connection's:
//
//   unsubscribed --subscribe()--> subscribing --ok--> subscribed
//        ^                          ^    |                |
//        |                          |    +--error---------+--> unsubscribed (terminal for the room)
//        +--unsubscribe()-----------+---- connection lost / gap / seq jump / a refusal that
//                                          may pass (rate_limited, unavailable): subscribing again
//
// In a room with history it remembers the last seq and epoch delivered, resubscribes with
// `since` after every reconnect, and delivers each seq of an epoch at most once: replayed
// messages that the app already has are dropped. A new epoch (history lost, e.g. the server
// restarted) starts the count again, and `recovered:false` calls the onRecoveryFailed hook so
// the app can reload what it could not get back. Messages that arrive while subscribing are
// held until the `ok` tells which epoch they belong to, then delivered in order.
export class Subscription extends Emitter {
  /**
   * @param {import('./client.js').Client} client
   * @param {string} room
   * @param {{presence?: boolean, since?: {seq: number, epoch: string},
   *          onRecoveryFailed?: Function}} options
   */
  constructor(client, room, options = {}) {
    super();
    this.client = client;
    this.room = room;
    this.state = 'unsubscribed';
    this._presence = !!options.presence;
    this._onRecoveryFailed = options.onRecoveryFailed;
    /** Last seq delivered (or known, from `ok`) in `epoch`; null in rooms without history. */
    this.seq = options.since ? options.since.seq : null;
    this.epoch = options.since ? options.since.epoch : null;
    this._held = [];
    this._attempt = 0;
    const o = client.options;
    this._backoff = new Backoff(o.minReconnectDelayMs, o.maxReconnectDelayMs, o.random);
    this._retryTimer = null;
  }

  /** Where to resume from, e.g. to persist across page loads; null without history. */
  get position() {
    return this.epoch === null ? null : { seq: this.seq, epoch: this.epoch };
  }

  /** Leaves the room; the Subscription is done (subscribe again through the client). */
  unsubscribe() {
    if (this.state === 'unsubscribed') return;
    this.client._unsubscribe(this);
    this._setUnsubscribed({ reason: 'unsubscribe' });
  }

  /** Publishes to this room; see Client.publish. */
  publish(data, options) {
    return this.client.publish(this.room, data, options);
  }

  /** Users present in this room; see Client.presence. */
  presence(options) {
    return this.client.presence(this.room, options);
  }

  // --- called by Client ---

  /** The `sub` command for the current position. */
  _subCommand() {
    const cmd = { op: 'sub', room: this.room };
    if (this.epoch !== null) cmd.since = { seq: this.seq, epoch: this.epoch };
    if (this._presence) cmd.presence = true;
    return cmd;
  }

  _setSubscribing(reason) {
    this._held = [];
    this._attempt++;
    if (this.state === 'subscribing') return;
    this.state = 'subscribing';
    this._emit('subscribing', { reason });
  }

  /** `ok` of our `sub`, for the attempt `attempt`. */
  _onOk(ok, attempt) {
    if (attempt !== this._attempt || this.state !== 'subscribing') return;
    const askedSince = this.epoch !== null;
    const sameEpoch = askedSince && ok.epoch === this.epoch;
    if (ok.epoch !== undefined && !sameEpoch) {
      // First subscription, or history was lost: seqs start over in the new epoch.
      this.epoch = ok.epoch;
      this.seq = 0;
    }
    const held = this._held;
    this._held = [];
    this._backoff.reset();
    this.state = 'subscribed';
    for (const m of held) this._deliver(m);
    if (typeof ok.seq === 'number' && this.seq !== null && ok.seq > this.seq) this.seq = ok.seq;
    const recovered = askedSince ? ok.recovered === true : undefined;
    const info = { recovered, seq: this.seq, epoch: this.epoch };
    this._emit('subscribed', info);
    if (askedSince && !recovered) {
      this._emit('recoveryFailed', info);
      if (this._onRecoveryFailed) this._onRecoveryFailed(info, this);
    }
  }

  _onError(err, attempt) {
    if (attempt !== this._attempt) return;
    if (RETRY_CODES.has(err.code)) {
      this._emit('error', err);
      const clock = this.client._clock;
      this._retryTimer = clock.setTimeout(() => {
        if (attempt === this._attempt) this.client._resubscribe(this, 'retry');
      }, this._backoff.next());
      return;
    }
    this.client._forget(this);
    this._setUnsubscribed({ reason: 'error', error: err });
    this._emit('error', err);
  }

  _onMessage(m) {
    if (this.state === 'subscribing') {
      this._held.push(m);
    } else if (this.state === 'subscribed') {
      if (typeof m.seq === 'number' && this.seq !== null && m.seq > this.seq + 1) {
        // A jump in seq: something was missed. Resubscribing with `since` replays it from the
        // history, this message included.
        this._emit('gap', { room: this.room, reason: 'seq' });
        this.client._resubscribe(this);
        return;
      }
      this._deliver(m);
    }
  }

  _deliver(m) {
    if (typeof m.seq === 'number' && this.seq !== null) {
      if (m.seq <= this.seq) return; // already delivered in this epoch
      this.seq = m.seq;
    }
    this._emit('message', m.data, { room: this.room, from: m.from, seq: m.seq });
  }

  /** A `gap` frame from the server. */
  _onGap() {
    this._emit('gap', { room: this.room, reason: 'server' });
    if (this.epoch !== null && this.state === 'subscribed') this.client._resubscribe(this);
  }

  _onPresence(op, m) {
    if (this.state === 'subscribed' || this.state === 'subscribing') {
      this._emit(op, { room: this.room, user: m.user, info: m.info });
    }
  }

  _setUnsubscribed(info) {
    this.client._clock.clearTimeout(this._retryTimer);
    this._held = [];
    this._attempt++;
    this.state = 'unsubscribed';
    this._emit('unsubscribed', info);
  }
}
