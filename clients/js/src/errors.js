// RingcastError: how every promise of the client fails. `code` is the server's error code
// (`not_allowed`, `no_such_user`, `timeout`, `rate_limited`, ...) or one of the client's own:
// `timeout` (no answer in time), `disconnected` (the connection dropped before the answer: the
// command may or may not have taken effect), `offline` (called while disconnected with
// whileDisconnected 'reject'), `queue_full`, `closed` (the client was stopped). The `error`
// event's `refused` (a handshake refused with HTTP 401/403, seen in Node with `ws`) carries
// the HTTP status as `status`.
export class RingcastError extends Error {
  constructor(code, reason) {
    super(`${code}: ${reason}`);
    this.name = 'RingcastError';
    this.code = code;
    this.reason = reason;
  }
}
