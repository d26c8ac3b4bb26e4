import { RingcastError } from './errors.js';

// The Client's calls (publish, send, request, presence) between the public method and the
// server's answer: each gets an id and a timeout; while not connected it waits in the bounded
// queue or fails at once (option whileDisconnected); the answer (`ok`, `error`, `res`) settles
// it. Client's own methods, kept here to keep client.js to the connection's life; installed
// on Client.prototype (client.js), so `this` is the Client.
export const callMethods = {
  _call(cmd, timeoutMs, map) {
    return new Promise((resolve, reject) => {
      if (this.state === 'closed') {
        reject(new RingcastError('closed', 'the client was disconnected; call connect() first'));
        return;
      }
      const entry = { id: 0, cmd, map, resolve, reject, timer: null, replyBy: 0 };
      const ms = timeoutMs || this.options.callTimeoutMs;
      if (cmd.op === 'req') entry.replyBy = this._now() + ms;
      entry.timer = this._clock.setTimeout(() => {
        this._pending.delete(entry.id);
        const i = this._queue.indexOf(entry);
        if (i >= 0) this._queue.splice(i, 1);
        reject(new RingcastError('timeout', `no answer to ${cmd.op} within ${ms} ms`));
      }, ms);
      if (this.state === 'connected') {
        this._transmit(entry);
      } else if (this.options.whileDisconnected === 'reject') {
        this._fail(entry, new RingcastError('offline', `${cmd.op} while ${this.state}`));
      } else if (this._queue.length >= this.options.maxQueued) {
        this._fail(entry, new RingcastError('queue_full', `${this.options.maxQueued} calls already wait for a connection`));
      } else {
        this._queue.push(entry);
      }
    });
  },

  _transmit(entry) {
    entry.id = this._nextId++;
    this._pending.set(entry.id, entry);
    this._ws.send(JSON.stringify({ ...entry.cmd, id: entry.id }));
  },

  _onReply(m) {
    const entry = this._pending.get(m.id);
    if (!entry) return;
    this._pending.delete(m.id);
    this._clock.clearTimeout(entry.timer);
    if (m.op === 'error') entry.reject(new RingcastError(m.code, m.reason));
    else entry.resolve(entry.map(m));
  },

  _fail(entry, err) {
    this._clock.clearTimeout(entry.timer);
    entry.reject(err);
  },
};
