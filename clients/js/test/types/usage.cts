// Compiled by test/build/build.test.mjs with tsc --noEmit: the API as a CommonJS user writes it.
import ringcast = require('ringcast');

const client = new ringcast.Client('ws://127.0.0.1:8080/ws', { user: 'alice', pingIntervalMs: 15000 });
const state: ringcast.ConnectionState = client.state;
client.on('connecting', ({ attempt }) => console.log(attempt, state));
export const backoff = new ringcast.Backoff(100, 1000).next() + 1;
