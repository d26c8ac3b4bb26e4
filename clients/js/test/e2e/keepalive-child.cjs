'use strict';
// A Node service whose only live thing is a ringcast client: run by node.test.mjs as a plain
// `node` process (no test runner holding the event loop open) to show that a reconnecting
// client keeps its process alive and that disconnect() lets it exit. One JSON line per event
// on stdout; after the message {n: 2} it calls disconnect() and must then end on its own.
// Usage: node keepalive-child.cjs WS-URL ROOM   (RINGCAST_JS_DIST and NODE_PATH as run.cjs sets)
const path = require('path');
const WebSocket = require('ws');
const { Client } = require(path.join(process.env.RINGCAST_JS_DIST, 'ringcast.cjs'));

const [url, roomName] = process.argv.slice(2);
const say = (event) => process.stdout.write(JSON.stringify(event) + '\n');
// A bound on a test gone wrong; unref'd, so it is no reason to stay alive.
setTimeout(() => process.exit(3), 60000).unref();

const client = new Client(url, { WebSocket, user: 'service', minReconnectDelayMs: 50, maxReconnectDelayMs: 300 });
client.on('connected', () => say({ event: 'connected' }));
client.on('disconnected', ({ code, reconnect }) => say({ event: 'disconnected', code, reconnect }));
const room = client.subscribe(roomName);
room.on('subscribed', () => say({ event: 'subscribed' }));
room.on('message', (data) => {
  say({ event: 'message', n: data.n });
  if (data.n === 2) client.disconnect();
});
client.connect();
