// Peer: ringcast's sub/pub subset on Node's `ws` package. One WebSocketServer, a Set of
// sockets per room, each publication serialised once into one Buffer sent to every member.
'use strict';
const { WebSocketServer, WebSocket } = require('ws');
const { parsePort, welcome, ok, msg, MAX_QUEUED_BYTES, MAX_MESSAGE_BYTES } = require('./common');

const port = parsePort(process.argv);
const rooms = new Map();  // room -> Set<WebSocket>
const wss = new WebSocketServer({
  host: '127.0.0.1', port, perMessageDeflate: false, maxPayload: MAX_MESSAGE_BYTES,
  clientTracking: false, backlog: 4096,
});

wss.on('connection', (ws) => {
  ws.rooms = new Set();
  ws.send(welcome());
  ws.on('message', (data, isBinary) => {
    if (isBinary) return ws.close(1003);
    let m;
    try { m = JSON.parse(data); } catch { return; }
    if (m === null || typeof m !== 'object') return;
    if (m.op === 'sub' && typeof m.room === 'string') {
      let set = rooms.get(m.room);
      if (!set) rooms.set(m.room, (set = new Set()));
      set.add(ws);
      ws.rooms.add(m.room);
      const r = ok(m.id);
      if (r) ws.send(r);
    } else if (m.op === 'unsub' && typeof m.room === 'string') {
      const set = rooms.get(m.room);
      if (set) { set.delete(ws); if (set.size === 0) rooms.delete(m.room); }
      ws.rooms.delete(m.room);
      const r = ok(m.id);
      if (r) ws.send(r);
    } else if (m.op === 'pub' && typeof m.room === 'string') {
      const set = rooms.get(m.room);
      if (set) {
        const frame = Buffer.from(msg(m.room, m.data));  // built once
        for (const s of set) {
          if (s.readyState !== WebSocket.OPEN) continue;
          if (s.bufferedAmount > MAX_QUEUED_BYTES) { s.close(4000, 'slow consumer'); s.terminate(); continue; }
          s.send(frame, { binary: false });
        }
      }
      const r = ok(m.id);
      if (r) ws.send(r);
    }
  });
  ws.on('close', () => {
    for (const room of ws.rooms) {
      const set = rooms.get(room);
      if (set) { set.delete(ws); if (set.size === 0) rooms.delete(room); }
    }
  });
  ws.on('error', () => {});
});
wss.on('listening', () => console.error('ws peer listening on 127.0.0.1:' + port));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
