// The ringcast JavaScript client: `new Client(url, options)`. See README.md.
export { Client } from './client.js';
export { Subscription } from './subscription.js';
export { Backoff } from './backoff.js';
export { RingcastError } from './errors.js';
export { Emitter } from './emitter.js';
