// Peer: ringcast's sub/pub subset on socket.io 4 (websocket transport only, as a notification
// tier would run it). Events: "sub" (room, ack) joins the room; "pub" ({room, data}, ack?) emits
// "msg" {op,room,from,data} to the room with io.to(room).emit — the in-memory adapter encodes
// the packet once for all members. The generator speaks it with --dialect socketio.
'use strict';
const http = require('http');
const { Server } = require('socket.io');
const { parsePort, MAX_MESSAGE_BYTES } = require('./common');

const port = parsePort(process.argv);
const httpServer = http.createServer((req, res) => { res.writeHead(404); res.end(); });
const io = new Server(httpServer, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  httpCompression: false,
  maxHttpBufferSize: MAX_MESSAGE_BYTES,
  connectTimeout: 45000,
});

io.on('connection', (socket) => {
  socket.on('sub', (room, ack) => {
    if (typeof room === 'string') socket.join(room);
    if (typeof ack === 'function') ack({ op: 'ok' });
  });
  socket.on('unsub', (room, ack) => {
    if (typeof room === 'string') socket.leave(room);
    if (typeof ack === 'function') ack({ op: 'ok' });
  });
  socket.on('pub', (m, ack) => {
    if (m && typeof m.room === 'string') {
      io.to(m.room).emit('msg', { op: 'msg', room: m.room, from: 'u', data: m.data });
    }
    if (typeof ack === 'function') ack({ op: 'ok' });
  });
});
httpServer.listen(port, '127.0.0.1', 4096, () => console.error('socket.io peer listening on 127.0.0.1:' + port));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
