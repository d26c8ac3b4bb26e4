// Compiled by test/build/build.test.mjs with tsc --noEmit: the API as an ESM user writes it.
import { Client, RingcastError, type Subscription, type Json } from 'ringcast';

const client = new Client('ws://127.0.0.1:8080/ws', {
  getToken: async ({ reason }) => (reason === 'expired' ? 'fresh' : 'first'),
  minReconnectDelayMs: 250,
  maxReconnectDelayMs: 10_000,
  whileDisconnected: 'reject',
  onRequest: async (data, { from }) => ({ echo: data, from }),
});
client.on('connected', ({ user, sid }) => console.log(user.toUpperCase(), sid));
client.on('disconnected', ({ code, reason, reconnect }) => console.log(code + 1, reason, reconnect));
client.on('message', (data: Json, { from }) => console.log(data, from));
client.on('error', (e: Error) => console.log(e.message));
client.on('error', (e) => {
  if (e instanceof RingcastError && e.code === 'refused') console.log((e.status ?? 0) + 1, e.reason);
});

const room: Subscription = client.subscribe('chat:lobby', {
  presence: true,
  onRecoveryFailed: ({ epoch }, sub) => console.log(epoch, sub.room),
});
room.on('message', (data, { seq, from }) => console.log(data, seq ?? 0, from));
room.on('subscribed', ({ recovered }) => console.log(recovered === true));
room.on('join', ({ user, info }) => console.log(user, info));
room.on('gap', ({ reason }) => console.log(reason === 'seq'));
client.connect();

async function calls(): Promise<void> {
  const { seq } = await client.publish('chat:lobby', { text: 'hi', n: [1, 2] });
  await client.send(['bob', 'carol'], 'ping');
  const answer: Json = await client.request('bob', { q: 1 }, { timeoutMs: 2000 });
  const { users, count } = await room.presence();
  console.log(seq, answer, users[0]?.conns, count, room.position?.epoch);
  try {
    await room.publish(null);
  } catch (e) {
    if (e instanceof RingcastError && e.code === 'not_allowed') room.unsubscribe();
  }
}
void calls();
client.disconnect();
