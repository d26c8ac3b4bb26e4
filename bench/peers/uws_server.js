// Peer: ringcast's sub/pub subset on uWebSockets.js (npm package `uwebsockets`, a republish of
// uNetworking's prebuilt binaries). Rooms are uWS topics: ws.subscribe(room) and
// app.publish(room, frame) — uWS frames each publication once for all subscribers.
'use strict';
const uWS = require('uwebsockets');
const { parsePort, welcome, ok, msg, MAX_QUEUED_BYTES, MAX_MESSAGE_BYTES } = require('./common');

const port = parsePort(process.argv);
const decoder = new TextDecoder();
const app = uWS.App();
app.ws('/*', {
  compression: uWS.DISABLED,
  maxPayloadLength: MAX_MESSAGE_BYTES,
  maxBackpressure: MAX_QUEUED_BYTES,
  closeOnBackpressureLimit: true,
  idleTimeout: 0,
  sendPingsAutomatically: false,
  open: (ws) => { ws.send(welcome(), false); },
  message: (ws, message, isBinary) => {
    if (isBinary) return ws.end(1003);
    let m;
    try { m = JSON.parse(decoder.decode(message)); } catch { return; }
    if (m === null || typeof m !== 'object') return;
    if (m.op === 'sub' && typeof m.room === 'string') {
      ws.subscribe(m.room);
      const r = ok(m.id);
      if (r) ws.send(r, false);
    } else if (m.op === 'unsub' && typeof m.room === 'string') {
      ws.unsubscribe(m.room);
      const r = ok(m.id);
      if (r) ws.send(r, false);
    } else if (m.op === 'pub' && typeof m.room === 'string') {
      app.publish(m.room, msg(m.room, m.data), false);
      const r = ok(m.id);
      if (r) ws.send(r, false);
    }
  },
});
app.listen('127.0.0.1', port, (token) => {
  if (!token) { console.error('uws peer: cannot listen on ' + port); process.exit(1); }
  console.error('uws peer listening on 127.0.0.1:' + port);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
