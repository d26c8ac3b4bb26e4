// Shared bits of the peer servers: --port parsing and the frames of ringcast's sub/pub subset
// (docs/protocol.md): welcome, ok, msg. The peers are deliberately minimal: no auth, no history,
// no rate limits; a slow consumer is cut off at 1 MiB of queued output where the library
// exposes the queue (ringcast's default limits.max_queued_bytes).
'use strict';

function parsePort(argv) {
  let port = 8080;
  for (let i = 2; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--port') port = Number(argv[++i]);
    else if (a.startsWith('--port=')) port = Number(a.slice(7));
    else if (a === '--help') {
      console.log('usage: node ' + require('path').basename(argv[1]) + ' --port N   (listens on 127.0.0.1)');
      process.exit(0);
    } else {
      console.error('unknown argument ' + a);
      process.exit(2);
    }
  }
  if (!(port > 0 && port < 65536)) {
    console.error('bad --port');
    process.exit(2);
  }
  return port;
}

let nextSid = 1;
const welcome = () => JSON.stringify({ op: 'welcome', sid: String(nextSid++), user: 'u', node: 'peer', v: 1 });
const ok = (id) => (id === undefined ? null : '{"op":"ok","id":' + Number(id) + '}');
const msg = (room, data) => JSON.stringify({ op: 'msg', room, from: 'u', data });

const MAX_QUEUED_BYTES = 1 << 20;
const MAX_MESSAGE_BYTES = 65536;

module.exports = { parsePort, welcome, ok, msg, MAX_QUEUED_BYTES, MAX_MESSAGE_BYTES };
