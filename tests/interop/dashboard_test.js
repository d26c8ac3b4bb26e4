'use strict';
// Interop: the /dashboard page in headless Chromium (Debian's /usr/bin/chromium
// driven by playwright-core; no browser is ever downloaded) against the real
// ringcast binary under load from `ws` clients publishing. Checks that the
// page runs under its own Content-Security-Policy (no violation, no script
// error), that its connections figure equals the server's own count and
// follows new connections, that publications/s and deliveries/s become
// positive, that queued bytes show the server's gauge in bytes, that a
// refused handshake shows in the handshake-failures figure (flagged), that
// the plots draw each series in its colour, that with api.key the page
// opened with ?apikey= works and drops the key from its address, and that when the key stops working (the server
// restarted with another) it asks for the key and goes on with the one typed
// in. Saves a screenshot for people to look at.
// Usage: node dashboard_test.js <path-to-ringcast> <screenshot.png>
// Prints `N passed, M failed`; exits non-zero on any failure, including a
// missing chromium (CI must not skip it).

const { spawn } = require('child_process');
const fs = require('fs');
const support = require('./support');
const os = require('os');
const path = require('path');
const WebSocket = require('ws');

const binary = process.argv[2];
const screenshot = process.argv[3];
if (!binary || !screenshot) {
  console.error('usage: node dashboard_test.js <path-to-ringcast> <screenshot.png>');
  process.exit(2);
}

const CHROMIUM = '/usr/bin/chromium';
const STEP_TIMEOUT_MS = 15000;
const TOTAL_TIMEOUT_MS = 90000;
const API_KEY = 'dash-key-7f3a';
const children = [];
const sockets = [];
const timers = [];
let browser = null;  // a BrowserContext of its own user-data-dir
let userDataDir = null;
let passed = 0;
const failures = [];

function cleanup() {
  for (const t of timers) clearInterval(t);
  for (const ws of sockets) { try { ws.terminate(); } catch (_) { /* ignore */ } }
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try { c.kill('SIGKILL'); } catch (_) { /* already gone */ }
    }
  }
  if (userDataDir) {
    try { fs.rmSync(userDataDir, { recursive: true, force: true }); } catch (_) { /* ignore */ }
    userDataDir = null;
  }
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { cleanup(); process.exit(1); });
}
const overall = setTimeout(() => {
  console.error('dashboard: overall timeout of ' + TOTAL_TIMEOUT_MS + ' ms');
  finish(['overall timeout']);
}, TOTAL_TIMEOUT_MS);

let finishing = false;
async function finish(extra = []) {
  if (finishing) return;
  finishing = true;
  clearTimeout(overall);
  if (browser) {
    await Promise.race([browser.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
  }
  cleanup();
  const all = failures.concat(extra);
  for (const f of all) console.log('FAIL ' + f);
  console.log(`${passed} passed, ${all.length} failed`);
  process.exit(all.length === 0 ? 0 : 1);
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

function withTimeout(promise, what, ms = STEP_TIMEOUT_MS) {
  return support.withTimeout(promise, what, ms);
}

// Polls `probe` (async, returns a value or undefined) until it gives a value.
async function eventually(probe, what, ms = STEP_TIMEOUT_MS) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  last = await probe();
  if (last !== undefined) return last;
  throw new Error('timeout: ' + what);
}

// Starts ringcast on a free loopback port; resolves once it accepts.
async function startServer(extraArgs, port = undefined) {
  if (port === undefined) port = await support.freePort();
  const child = spawn(binary, ['--listen', `127.0.0.1:${port}`, '--shards', '2', ...extraArgs], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  const spawnError = new Promise((_, reject) => child.on('error', reject));
  await withTimeout(Promise.race([spawnError, (async () => {
    while (!(await support.canConnect(port))) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error('ringcast exited early: ' + (child.exitCode ?? child.signalCode));
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })()]), 'ringcast accepting');
  return port;
}

function stopServer(child) {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  return withTimeout(exited, 'ringcast exit');
}

// The server's own total of `counter`, on a connection of our own that is
// closed after the answer (so it counts itself once in `connections`).
async function statsTotal(port, counter, key) {
  const headers = { Connection: 'close' };
  if (key) headers.Authorization = 'apikey ' + key;
  const res = await fetch(`http://127.0.0.1:${port}/api/stats`, { headers });
  assert(res.status === 200, '/api/stats answered ' + res.status);
  return (await res.json()).total[counter];
}

// A handshake the server refuses: an old client's Sec-WebSocket-Version 8
// gets 426. Resolves ws's error ("Unexpected server response: 426").
async function failHandshake(port) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { protocolVersion: 8 });
  sockets.push(ws);
  return withTimeout(new Promise((resolve, reject) => {
    ws.once('open', () => reject(new Error('a version-8 handshake was accepted')));
    ws.once('error', (e) => resolve(e.message));
  }), 'refused handshake');
}

// For each series {name: [canvas id, [r, g, b]]}, the pixels of its canvas
// drawn in (nearly) its colour: the plotted line, not the grid or the
// labels, which are grey.
function seriesPixels(page, series) {
  return page.evaluate((wanted) => {
    const out = {};
    for (const [name, [id, [r, g, b]]] of Object.entries(wanted)) {
      const canvas = document.getElementById(id);
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        const near = Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 60;
        if (data[i + 3] >= 128 && near) n++;
      }
      out[name] = n;
    }
    return out;
  }, series);
}

// A ws client that has read its welcome.
async function connect(port) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  sockets.push(ws);
  await withTimeout(new Promise((resolve, reject) => {
    ws.once('message', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (_, res) => reject(new Error('HTTP ' + res.statusCode)));
  }), 'welcome');
  ws.on('message', () => { /* deliveries: read and dropped */ });
  return ws;
}

// `subscribers` clients in each of `rooms` rooms and one publisher per room
// publishing every 20 ms: publications and deliveries keep coming.
async function startLoad(port, rooms, subscribers) {
  const clients = [];
  for (const room of rooms) {
    for (let i = 0; i < subscribers; i++) {
      const ws = await connect(port);
      ws.send(JSON.stringify({ op: 'sub', room }));
      clients.push(ws);
    }
    const pub = await connect(port);
    clients.push(pub);
    let n = 0;
    timers.push(setInterval(() => {
      if (pub.readyState === WebSocket.OPEN) pub.send(JSON.stringify({ op: 'pub', room, data: { n: n++ } }));
    }, 20));
  }
  return clients;
}

async function launchBrowser() {
  assert(fs.existsSync(CHROMIUM), CHROMIUM + ' is missing: install Debian\'s chromium (tools/setup.sh deps)');
  const { chromium } = require('playwright-core');
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-dashboard-'));
  // A persistent context is how playwright takes a --user-data-dir: a fresh one.
  browser = await withTimeout(chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 860 },
    deviceScaleFactor: 1,
  }), 'chromium launch', 30000);
  return browser;
}

// A page that records what would mean the page does not work: CSP
// violations, script errors, console errors, requests leaving the server.
async function openPage(port) {
  const page = await browser.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push('script error: ' + e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') page.problems.push('console error: ' + m.text());
  });
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.protocol !== 'data:' && u.host !== `127.0.0.1:${port}`) {
      page.problems.push('request outside the server: ' + r.url());
    }
  });
  return page;
}

// The figure the page shows (its data-value), or undefined while it has none.
async function figure(page, key) {
  const v = await page.getAttribute('#v-' + key, 'data-value');
  return v === null || v === '' ? undefined : Number(v);
}

async function main() {
  const tests = [];
  const test = (name, fn) => tests.push({ name, fn });
  const launchStarted = Date.now();
  await launchBrowser();
  console.log(`chromium up (${Date.now() - launchStarted} ms)`);

  test('the page follows the real figures under load', async () => {
    const port = await startServer([]);
    await startLoad(port, ['dash-a', 'dash-b', 'dash-c'], 4);
    const page = await openPage(port);
    const response = await page.goto(`http://127.0.0.1:${port}/dashboard`);
    assert(response.status() === 200, 'GET /dashboard: ' + response.status());
    const csp = response.headers()['content-security-policy'] || '';
    assert(csp.includes("script-src 'sha256-"), 'no script hash in the CSP: ' + csp);

    // Connections: the page's figure is the server's count (its own
    // request's connection aside) once both are steady.
    const steady = await eventually(async () => {
      const shown = await figure(page, 'connections');
      const real = (await statsTotal(port, 'connections')) - 1;
      return shown !== undefined && shown === real ? shown : undefined;
    }, 'connections figure equal to the server count');
    assert(steady >= 15, 'fewer connections than the 15 clients: ' + steady);
    // ...and it follows new ones. (The browser may meanwhile drop a
    // connection it left idle, so the page is compared with the server again.)
    for (let i = 0; i < 5; i++) await connect(port);
    await eventually(async () => {
      const shown = await figure(page, 'connections');
      const real = (await statsTotal(port, 'connections')) - 1;
      return shown === real && shown >= steady + 4 ? true : undefined;
    }, 'connections figure up by the 5 new clients');

    const pubs = await eventually(async () => {
      const v = await figure(page, 'publications_per_s');
      return v > 0 ? v : undefined;
    }, 'publications/s > 0');
    const deliveries = await eventually(async () => {
      const v = await figure(page, 'deliveries_per_s');
      return v > 0 ? v : undefined;
    }, 'deliveries/s > 0');
    // 4 subscribers per room: deliveries outnumber publications. (No upper
    // bound on the rates: on a loaded machine the answers come unevenly.)
    assert(deliveries >= pubs, `deliveries/s ${deliveries} below publications/s ${pubs}`);
    const rooms = await eventually(async () => ((await figure(page, 'rooms')) === 3 ? 3 : undefined),
      'rooms figure equal to the 3 rooms');
    assert(rooms === 3, 'rooms');
    assert((await figure(page, 'slow_consumer_closes')) === 0, 'slow-consumer closes not 0');

    // One row per shard in the table, and a total row.
    const rows = await page.$$eval('#shard-rows tr', (trs) => trs.length);
    assert(rows === 2, 'shard rows: ' + rows);
    const totalCell = await page.textContent('#shard-total td:first-child');
    assert(totalCell === 'total', 'total row: ' + totalCell);

    // Queued bytes: the server's gauge (mostly 0 here), shown in bytes.
    await eventually(async () => {
      const shown = await figure(page, 'queued_bytes');
      return shown !== undefined && shown === (await statsTotal(port, 'queued_bytes')) ? true : undefined;
    }, 'queued-bytes figure equal to the server gauge');
    const queuedText = (await page.textContent('#v-queued_bytes')).trim();
    assert(/^\d+(\.\d+)? (B|KiB|MiB|GiB)$/.test(queuedText), 'queued bytes shown as: ' + queuedText);

    // Handshake failures: one refused handshake shows, flagged.
    const failedBefore = await eventually(async () => figure(page, 'handshakes_failed'), 'handshake failures figure');
    const refusal = await failHandshake(port);
    assert(refusal.includes('426'), 'the refusal: ' + refusal);
    const failedAfter = await eventually(async () => {
      const shown = await figure(page, 'handshakes_failed');
      return shown >= failedBefore + 1 && shown === (await statsTotal(port, 'handshakes_failed')) ? shown : undefined;
    }, 'handshake failures figure up by the refused handshake');
    assert(await page.$eval('[data-figure="handshakes_failed"]', (t) => t.classList.contains('alert')),
      `${failedAfter} handshake failures not flagged`);

    // A few seconds of plot: each chart draws its series (dashboard.html's
    // --pub, --del and --conn colours), not only its grid.
    await page.waitForTimeout(4000);
    const drawn = await seriesPixels(page, {
      publications: ['chart-rates', [0x25, 0x63, 0xeb]],
      deliveries: ['chart-rates', [0x0d, 0x94, 0x88]],
      connections: ['chart-conns', [0x7c, 0x3a, 0xed]],
    });
    console.log('series pixels: ' + JSON.stringify(drawn));
    for (const [name, pixels] of Object.entries(drawn)) {
      assert(pixels >= 10, `the ${name} series is not drawn: ${JSON.stringify(drawn)}`);
    }
    fs.mkdirSync(path.dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    assert(page.problems.length === 0, page.problems.join('; '));
    await page.close();
  });

  test('with api.key, ?apikey= opens the page and leaves the address bar', async () => {
    const port = await startServer(['--api-key', API_KEY]);
    await startLoad(port, ['dash-k'], 2);
    const refused = await fetch(`http://127.0.0.1:${port}/dashboard`, { headers: { Connection: 'close' } });
    assert(refused.status === 401, 'without the key: ' + refused.status);
    const page = await openPage(port);
    const response = await page.goto(`http://127.0.0.1:${port}/dashboard?apikey=${API_KEY}`);
    assert(response.status() === 200, 'with the key: ' + response.status());
    await eventually(async () => ((await figure(page, 'publications_per_s')) > 0 ? true : undefined),
      'publications/s > 0 with the key');
    assert(!page.url().includes(API_KEY), 'the key stayed in the address: ' + page.url());
    const status = await page.textContent('#status-text');
    assert(status.startsWith('live'), 'status: ' + status);
    assert(page.problems.length === 0, page.problems.join('; '));
    await page.close();
  });

  test('a page whose key stops working asks for the new one', async () => {
    const port = await startServer(['--api-key', API_KEY]);
    const page = await openPage(port);
    await page.goto(`http://127.0.0.1:${port}/dashboard?apikey=${API_KEY}`);
    await eventually(async () => ((await figure(page, 'connections')) >= 1 ? true : undefined),
      'figures with the first key');
    assert(!(await page.isVisible('#keybox')), 'the key box shows while the key works');
    // The server comes back on the same port with another key.
    await stopServer(children[children.length - 1]);
    // The killed process's io_uring is torn down after it exits, by the kernel's workqueue,
    // and its listening socket with it: on a loaded machine the port still accepted (and a
    // new ringcast refused it, "address already in use") after the exit. Wait until it is gone.
    await eventually(async () => ((await support.canConnect(port)) ? undefined : true),
      'the killed server\'s listener closed');
    await startServer(['--api-key', API_KEY + '-new'], port);
    await page.waitForSelector('#keybox', { state: 'visible', timeout: STEP_TIMEOUT_MS });
    const status = await page.textContent('#status-text');
    assert(status === 'wrong API key', 'status: ' + status);
    await page.fill('#key', API_KEY + '-new');
    await page.click('#keybox button');
    await page.waitForSelector('#keybox', { state: 'hidden', timeout: STEP_TIMEOUT_MS });
    await eventually(async () => ((await page.textContent('#status-text')).startsWith('live') ? true : undefined),
      'live again with the new key');
    // The 401s the page met are its own fetches' console noise; nothing else.
    const problems = page.problems.filter((p) => !p.includes('status of 401'));
    assert(problems.length === 0, problems.join('; '));
    await page.close();
  });

  for (const t of tests) {
    const started = Date.now();
    try {
      await withTimeout(t.fn(), t.name, 60000);
      passed++;
      console.log(`ok   ${t.name} (${Date.now() - started} ms)`);
    } catch (e) {
      failures.push(`${t.name}: ${e.message}`);
    }
  }
  await finish();
}

main().catch((e) => finish(['main: ' + (e && e.stack ? e.stack : e)]));
