import { Emitter } from './emitter.js';
import { Backoff } from './backoff.js';
import { RingcastError } from './errors.js';
import { Subscription } from './subscription.js';
import { callMethods } from './calls.js';

// Client: one logical connection to ringcast that survives network drops. Its state machine:
//
//   idle --connect()--> connecting --welcome--> connected
//                          ^   |                   |
//                          |   +------ lost -------+--> disconnected --backoff--> connecting
//                          |                       |
//                          +-- online/visible -----+--> closed (terminal: disconnect(), a
//                                                        close code or `bye` that says do not
//                                                        come back, a handshake refused with
//                                                        HTTP 401/403 where the WebSocket
//                                                        implementation tells, e.g. `ws`)
//
// Every deadline (connect, heartbeat, reconnect) is an absolute time on the wall clock that a
// short tick compares with `now()`: timers of a background tab are throttled and a laptop's
// are frozen while it sleeps, but the first tick after that sees the time that really passed.
// A connection is dead when a ping gets no frame back in time; the browser's `online` and
// `visibilitychange` events probe at once instead of waiting for the next ping. The timer is
// never unref'd: in Node a client that is reconnecting (no socket open, only its timer) keeps
// the process alive, as its open socket does; disconnect() or a terminal close clears it and
// lets the process exit.
//
// The backoff is reset only by a connection that lasted at least minReconnectDelayMs: a server
// that accepts and closes at once (or keeps refusing a token that expires at once) meets
// growing delays, not a loop at the first delay.
//
// Subscriptions (Subscription) are resubscribed after each welcome, with `since` in rooms with
// history. Calls (publish, send, request, presence) made while not connected wait in a bounded
// queue or fail at once (option whileDisconnected); calls in flight when the connection drops
// fail with `disconnected`, as the server may or may not have acted on them (delivery is at
// most once: the client never repeats a command on its own).

const TERMINAL_CODES = new Set([1002, 1003, 1007, 1008, 1009]);
const DEFAULTS = {
  minReconnectDelayMs: 500,
  maxReconnectDelayMs: 20000,
  connectTimeoutMs: 10000,
  pingIntervalMs: 20000,
  pongTimeoutMs: 10000,
  callTimeoutMs: 10000,
  tickMs: 1000,
  whileDisconnected: 'queue',
  maxQueued: 100,
};

export class Client extends Emitter {
  /**
   * @param {string} url e.g. `wss://example.com/ws`
   * @param {object} [options] see README.md, Options
   */
  constructor(url, options = {}) {
    super();
    this.url = url;
    this.options = { ...DEFAULTS, ...options };
    const o = this.options;
    this._WebSocket = o.WebSocket || globalThis.WebSocket;
    if (!this._WebSocket) {
      throw new TypeError('no global WebSocket: pass one, e.g. new Client(url, { WebSocket: require("ws") })');
    }
    if (o.whileDisconnected !== 'queue' && o.whileDisconnected !== 'reject') {
      throw new TypeError(`whileDisconnected must be 'queue' or 'reject' (got ${o.whileDisconnected})`);
    }
    // Wrapped: browsers refuse setTimeout called on another object ("Illegal invocation").
    this._clock = o.clock || { now: () => Date.now(), setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (h) => clearTimeout(h) };
    this._backoff = new Backoff(o.minReconnectDelayMs, o.maxReconnectDelayMs, o.random);
    this.state = 'idle';
    /** From the last welcome: `{sid, user, node}`. */
    this.session = null;
    /** @type {Map<string, Subscription>} */
    this.subscriptions = new Map();
    this._ws = null;
    this._nextId = 1;
    this._pending = new Map(); // id -> entry, sent and waiting for an answer
    this._queue = []; // entries waiting for a connection
    this._timer = null;
    this._deadline = 0; // connecting: connect deadline; disconnected: when to reconnect
    this._lastFrameAt = 0;
    this._pingDeadline = 0; // 0 = no ping outstanding
    this._bye = null; // the current socket's `bye`, if it sent one
    this._refused = 0; // HTTP status of the current socket's refused handshake (401/403)
    this._refusedOnce = false; // a refusal was already retried with a fresh token
    this._connectedAt = 0;
    this._tokenReason = 'connect';
    this._gen = 0;
    this._onOnline = () => this._wake('online');
    this._onOffline = () => this._probe();
    this._onVisibility = () => {
      if (this._document().visibilityState === 'visible') this._wake('visible');
    };
  }

  /** Starts connecting (again, after disconnect() or a terminal close). */
  connect() {
    if (this.state === 'connecting' || this.state === 'connected') return;
    this._listenEnvironment(true);
    this._backoff.reset();
    this._tokenReason = 'connect';
    this._refusedOnce = false;
    this._open();
  }

  /** Closes the connection and stays closed; pending and queued calls fail with `closed`. */
  disconnect() {
    this._stop(1000, 'disconnect()', true);
  }

  /**
   * Subscribes to a room; the subscription lasts across reconnects until unsubscribe().
   * @param {string} room
   * @param {{presence?: boolean, since?: {seq: number, epoch: string}, onRecoveryFailed?: Function}} [options]
   */
  subscribe(room, options) {
    if (typeof room !== 'string' || room === '') throw new TypeError('room must be a non-empty string');
    if (this.subscriptions.has(room)) throw new Error(`already subscribed to ${room}`);
    const sub = new Subscription(this, room, options);
    this.subscriptions.set(room, sub);
    sub._setSubscribing('subscribe');
    if (this.state === 'connected') this._sendSubs([sub]);
    return sub;
  }

  /** Publishes `data` to `room`; resolves `{seq}` (seq in rooms with history). */
  publish(room, data, options = {}) {
    const cmd = { op: 'pub', room, data };
    if (options.echo === false) cmd.echo = false;
    return this._call(cmd, options.timeoutMs, (m) => ({ seq: m.seq }));
  }

  /** Sends `data` to every connection of a user (or of up to 100 users). */
  send(to, data, options = {}) {
    return this._call({ op: 'send', to, data }, options.timeoutMs, () => undefined);
  }

  /** Asks one user; resolves with the first answer's data (see onRequest). */
  request(to, data, options = {}) {
    const timeoutMs = options.timeoutMs || 5000;
    const cmd = { op: 'req', to, data, timeout_ms: timeoutMs };
    return this._call(cmd, timeoutMs + this.options.callTimeoutMs, (m) => m.data);
  }

  /** Users in a room: resolves `{users: [{user, info, conns}], count, truncated}`. */
  presence(room, options = {}) {
    return this._call({ op: 'presence', room }, options.timeoutMs, (m) => ({
      users: m.users || [],
      count: m.count || 0,
      truncated: m.truncated === true,
    }));
  }

  // --- connection ---

  async _open() {
    const gen = ++this._gen;
    // What the previous socket said is no reason for this attempt's end (a connect timeout
    // while getToken is pending must not report the old bye).
    this._bye = null;
    this._refused = 0;
    this._setState('connecting');
    this._deadline = this._now() + this.options.connectTimeoutMs;
    this._arm();
    this._emit('connecting', { attempt: this._backoff.attempt });
    let token = null;
    if (this.options.getToken) {
      try {
        token = await this.options.getToken({ reason: this._tokenReason });
      } catch (e) {
        if (gen !== this._gen) return;
        this._emit('error', e);
        this._retry();
        return;
      }
      if (gen !== this._gen) return;
    }
    // A relative URL ('/ws') is taken from the page's address, http(s) becoming ws(s).
    const u = new URL(this.url, globalThis.location && globalThis.location.href);
    u.protocol = u.protocol.replace(/^http/, 'ws');
    if (token) u.searchParams.set('token', token);
    if (this.options.user) u.searchParams.set('user', this.options.user);
    let ws;
    try {
      ws = new this._WebSocket(u.toString());
    } catch (e) {
      this._emit('error', e);
      this._stop(0, String(e.message || e), false);
      return;
    }
    this._ws = ws;
    ws.onmessage = (ev) => {
      if (ws === this._ws) this._onFrame(typeof ev.data === 'string' ? ev.data : String(ev.data));
    };
    ws.onclose = (ev) => {
      if (ws === this._ws) this._lost(ev.code, ev.reason || '');
    };
    // The close event follows and says more, except for a refused handshake: `ws` (Node) names
    // the HTTP status only here ("Unexpected server response: 401"). Browsers never tell.
    ws.onerror = (ev) => {
      const m = /server response: (40[13])\b/.exec(String(ev && (ev.message || (ev.error && ev.error.message))));
      if (m && ws === this._ws) this._refused = Number(m[1]);
    };
  }

  _onFrame(text) {
    this._lastFrameAt = this._now();
    this._pingDeadline = 0; // any frame proves the connection alive
    for (const line of text.split('\n')) {
      if (line === '') continue;
      let m;
      try {
        m = JSON.parse(line);
      } catch (e) {
        this._emit('error', new RingcastError('bad_json', `unreadable frame from server: ${line.slice(0, 80)}`));
        continue;
      }
      this._dispatch(m);
    }
  }

  _dispatch(m) {
    const sub = typeof m.room === 'string' ? this.subscriptions.get(m.room) : undefined;
    switch (m.op) {
      case 'welcome':
        this._onWelcome(m);
        break;
      case 'ok':
      case 'error':
      case 'pong':
      case 'res':
        this._onReply(m);
        break;
      case 'msg':
        if (m.room === undefined) this._emit('message', m.data, { from: m.from });
        else if (sub) sub._onMessage(m);
        break;
      case 'join':
      case 'leave':
        if (sub) sub._onPresence(m.op, m);
        break;
      case 'gap':
        if (sub) sub._onGap();
        break;
      case 'req':
        this._onRequest(m);
        break;
      case 'bye':
        this._bye = m;
        break;
    }
  }

  _onWelcome(m) {
    this.session = { sid: m.sid, user: m.user, node: m.node };
    this._connectedAt = this._now();
    this._tokenReason = 'connect';
    this._refusedOnce = false;
    this._setState('connected');
    this._arm();
    // Subscriptions first, then the queued calls in call order, then the app hears of it (so a
    // subscribe() in its listener is not sent twice).
    this._sendSubs([...this.subscriptions.values()]);
    const queued = this._queue;
    this._queue = [];
    for (const entry of queued) this._transmit(entry);
    this._emit('connected', { ...this.session });
  }

  /** The connection ended (close event, or the client gave up on it). */
  _lost(code, reason) {
    const bye = this._bye;
    const refused = this._refused;
    this._bye = null;
    this._refused = 0;
    if (bye) reason = bye.reason || reason;
    if (bye && typeof bye.code === 'number') code = bye.code;
    if (refused) reason = `handshake refused: HTTP ${refused}`;
    const expired = code === 1008 && reason === 'token expired';
    // A refused token is tried once more with a fresh one (it may have expired between fetch
    // and use); refused again, or without getToken to ask, the client stops.
    const retryRefusal = refused > 0 && !!this.options.getToken && !this._refusedOnce;
    if (refused && !retryRefusal) {
      const err = new RingcastError('refused', reason);
      err.status = refused;
      this._emit('error', err);
      this._stop(code, reason, true);
      return;
    }
    const terminal = bye ? bye.reconnect === false : TERMINAL_CODES.has(code) && !expired;
    if (terminal) {
      this._stop(code, reason, true);
      return;
    }
    const stable = this.state === 'connected' && this._now() - this._connectedAt >= this.options.minReconnectDelayMs;
    if (stable) this._backoff.reset();
    this._drop();
    if (expired || retryRefusal) this._tokenReason = 'expired';
    if (retryRefusal) this._refusedOnce = true;
    // A fresh token is fetched at once, unless the expired connection lasted so little that
    // getToken seems to hand out tokens about to expire: then the backoff paces it.
    const delayMs = (expired && stable) || retryRefusal ? 0 : this._backoff.next();
    this._setState('disconnected');
    this._deadline = this._now() + delayMs;
    this._arm();
    this._emit('disconnected', { code, reason, reconnect: true, delayMs });
  }

  /** Connecting failed before any close code (getToken threw): try again after a backoff. */
  _retry() {
    this._drop();
    this._setState('disconnected');
    const delayMs = this._backoff.next();
    this._deadline = this._now() + delayMs;
    this._arm();
    this._emit('disconnected', { code: 0, reason: 'getToken failed', reconnect: true, delayMs });
  }

  /** Ends the current socket; in-flight calls fail, subscriptions wait for the next welcome. */
  _drop() {
    const ws = this._ws;
    this._ws = null;
    this._gen++;
    this._pingDeadline = 0;
    if (ws) {
      ws.onmessage = ws.onclose = null;
      try {
        ws.close();
      } catch (_) {
        // a socket still connecting may refuse; it is dropped either way
      }
    }
    const pending = [...this._pending.values()];
    this._pending.clear();
    const err = new RingcastError('disconnected', 'the connection closed before the answer');
    for (const entry of pending) if (!entry.sub) this._fail(entry, err);
    for (const sub of this.subscriptions.values()) sub._setSubscribing('disconnected');
  }

  /** Terminal: closed until connect(). */
  _stop(code, reason, emit) {
    if (this.state === 'closed') return;
    if (this.state === 'idle') emit = false;
    this._drop();
    this._listenEnvironment(false);
    this._setState('closed');
    this._clock.clearTimeout(this._timer);
    this._timer = null;
    const queued = this._queue;
    this._queue = [];
    for (const entry of queued) this._fail(entry, new RingcastError('closed', reason));
    if (emit) this._emit('disconnected', { code, reason, reconnect: false });
  }

  _setState(state) {
    this.state = state;
  }

  // --- time ---

  _now() {
    return this._clock.now();
  }

  /** Runs _tick at the next deadline, or after tickMs, whichever comes first. */
  _arm() {
    this._clock.clearTimeout(this._timer);
    this._timer = null;
    if (this.state === 'closed' || this.state === 'idle') return;
    const now = this._now();
    let next = now + this.options.tickMs;
    if (this.state !== 'connected') next = Math.min(next, this._deadline);
    else if (this._pingDeadline) next = Math.min(next, this._pingDeadline);
    else next = Math.min(next, this._lastFrameAt + this.options.pingIntervalMs);
    this._timer = this._clock.setTimeout(() => this._tick(), Math.max(0, next - now));
  }

  _tick() {
    const now = this._now();
    if (this.state === 'connecting' && now >= this._deadline) {
      this._lost(1006, 'connect timeout');
    } else if (this.state === 'disconnected' && now >= this._deadline) {
      this._open();
      return;
    } else if (this.state === 'connected') {
      if (this._pingDeadline && now >= this._pingDeadline) {
        this._lost(1006, 'heartbeat timeout');
      } else if (!this._pingDeadline && now - this._lastFrameAt >= this.options.pingIntervalMs) {
        this._ping();
      }
    }
    this._arm();
  }

  /** Sends a ping; the connection is dead if no frame comes back before the deadline. */
  _ping() {
    const id = this._nextId++;
    this._pending.set(id, { id, map: () => undefined, resolve() {}, reject() {} });
    this._ws.send(JSON.stringify({ op: 'ping', id }));
    // Replies keep command order, so a pending `req` holds the pong back until it is answered.
    let deadline = this._now() + this.options.pongTimeoutMs;
    for (const entry of this._pending.values()) {
      if (entry.replyBy) deadline = Math.max(deadline, entry.replyBy + this.options.pongTimeoutMs);
    }
    this._pingDeadline = deadline;
    this._arm();
  }

  /** The network may have changed: check the connection now, or reconnect now. */
  _wake() {
    if (this.state === 'disconnected') {
      this._open();
    } else {
      this._probe();
    }
  }

  _probe() {
    if (this.state === 'connected' && !this._pingDeadline) this._ping();
  }

  _document() {
    return this.options.document || globalThis.document;
  }

  _listenEnvironment(on) {
    const win = this.options.window || globalThis.window;
    const doc = this._document();
    const method = on ? 'addEventListener' : 'removeEventListener';
    if (win && win[method]) {
      win[method]('online', this._onOnline);
      win[method]('offline', this._onOffline);
    }
    if (doc && doc[method]) doc[method]('visibilitychange', this._onVisibility);
  }

  // --- subscriptions ---

  _sendSubs(subs) {
    const lines = [];
    for (const sub of subs) {
      const id = this._nextId++;
      const attempt = sub._attempt;
      this._pending.set(id, {
        id,
        sub: true,
        resolve: (m) => sub._onOk(m, attempt),
        reject: (err) => sub._onError(err, attempt),
        map: (m) => m,
      });
      lines.push(JSON.stringify({ ...sub._subCommand(), id }));
    }
    if (lines.length > 0) this._ws.send(lines.join('\n'));
  }

  /** unsub + sub with `since`: the server replays what this connection missed (a retry of a
   *  refused sub has nothing to unsub). */
  _resubscribe(sub, reason = 'gap') {
    sub._setSubscribing(reason);
    if (this.state !== 'connected') return;
    if (reason !== 'retry') this._ws.send(JSON.stringify({ op: 'unsub', room: sub.room }));
    this._sendSubs([sub]);
  }

  _unsubscribe(sub) {
    this._forget(sub);
    if (this.state === 'connected') this._ws.send(JSON.stringify({ op: 'unsub', room: sub.room }));
  }

  _forget(sub) {
    if (this.subscriptions.get(sub.room) === sub) this.subscriptions.delete(sub.room);
  }

  /** A `req` for this user: the onRequest handler's result goes back as `res`. */
  _onRequest(m) {
    const handler = this.options.onRequest;
    if (!handler) return; // another connection of this user may answer
    Promise.resolve()
      .then(() => handler(m.data, { from: m.from }))
      .then(
        (answer) => {
          if (this.state === 'connected') {
            this._ws.send(JSON.stringify({ op: 'res', rid: m.rid, data: answer === undefined ? null : answer }));
          }
        },
        (e) => this._emit('error', e),
      );
  }
}

Object.assign(Client.prototype, callMethods);
