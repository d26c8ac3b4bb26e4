// Fakes for the unit tests only: a clock whose time moves when the test says, and a
// WebSocket whose server side the test plays. The end-to-end tests use the real things.

export class FakeClock {
  constructor(start = 1_000_000) {
    this.t = start;
    this.timers = new Map();
    this.nextHandle = 1;
  }
  now() {
    return this.t;
  }
  setTimeout(fn, ms) {
    const h = this.nextHandle++;
    this.timers.set(h, { at: this.t + Math.max(0, ms), fn });
    return h;
  }
  clearTimeout(h) {
    this.timers.delete(h);
  }
  /** Moves time forward by ms, running each timer that falls due on the way, in order. */
  advance(ms) {
    const end = this.t + ms;
    for (;;) {
      let next = null;
      for (const [h, timer] of this.timers) if (timer.at <= end && (!next || timer.at < next[1].at)) next = [h, timer];
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = end;
  }
  /** Moves time forward without running timers: a sleeping laptop, a throttled tab. */
  jump(ms) {
    this.t += ms;
  }
  /** Runs just the earliest timer (late, at the current time), as a throttled tab would. */
  fireOne() {
    let next = null;
    for (const [h, timer] of this.timers) if (!next || timer.at < next[1].at) next = [h, timer];
    if (!next) return false;
    this.timers.delete(next[0]);
    next[1].fn();
    return true;
  }
}

/** Records every FakeSocket made, newest last. */
export function socketFactory() {
  const sockets = [];
  class FakeSocket {
    constructor(url) {
      this.url = url;
      this.sent = [];
      this.closed = null;
      this.onmessage = this.onclose = this.onerror = null;
      sockets.push(this);
    }
    send(text) {
      if (this.closed) throw new Error('send on a closed FakeSocket');
      for (const line of text.split('\n')) this.sent.push(JSON.parse(line));
    }
    close(code, reason) {
      this.closed = { code, reason };
    }
    // --- the server's side ---
    receive(obj) {
      this.onmessage && this.onmessage({ data: JSON.stringify(obj) });
    }
    welcome(user = 'u1') {
      this.receive({ op: 'welcome', sid: 's' + sockets.indexOf(this), user, node: 'n1', v: 1 });
    }
    serverClose(code, reason = '') {
      this.closed = { code, reason };
      this.onclose && this.onclose({ code, reason });
    }
    /** The handshake refused with an HTTP status, as `ws` reports it (an error naming the
     *  status, then close 1006); `message: null` is a browser, which cannot see the status. */
    refuse(status, message = `Unexpected server response: ${status}`) {
      this.onerror && this.onerror(message === null ? {} : { message, error: new Error(message) });
      this.serverClose(1006, '');
    }
    /** The last command sent with this op. */
    last(op) {
      return this.sent.filter((c) => c.op === op).at(-1);
    }
  }
  return { FakeSocket, sockets };
}

export async function settle() {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}
