// End to end in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core; no
// browser is downloaded): the minified browser build, loaded by a page served from 127.0.0.1,
// follows a history room through a network cut and a server killed and started again.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { dist, Server, Proxy, freePort, tempConfig, HISTORY_CONFIG, TIMEOUT } from '../support.mjs';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');
const CHROMIUM = process.env.RINGCAST_CHROMIUM || '/usr/bin/chromium';
const here = path.dirname(new URL(import.meta.url).pathname);
const cleanups = [];
after(async () => {
  for (const f of cleanups.reverse()) await f();
});

/** Serves the test page and the browser build. */
async function serveStatic() {
  const files = {
    '/': [path.join(here, 'page.html'), 'text/html'],
    '/ringcast.min.js': [path.join(dist, 'ringcast.min.js'), 'text/javascript'],
  };
  const srv = http.createServer((req, res) => {
    const f = files[new URL(req.url, 'http://x').pathname];
    if (!f) return res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': f[1] }).end(fs.readFileSync(f[0]));
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => srv.close(r)));
  return srv.address().port;
}

async function launch() {
  assert.ok(fs.existsSync(CHROMIUM), `no chromium at ${CHROMIUM} (tools/setup.sh deps installs it)`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-chromium-'));
  cleanups.push(() => fs.rmSync(profile, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  cleanups.push(() => context.close());
  return context;
}

test('every message once and in order across a cut and a server restart', TIMEOUT, async () => {
  const server = await new Server(await freePort(), ['--config', tempConfig(HISTORY_CONFIG)]).start();
  cleanups.push(() => server.stop());
  const proxy = new Proxy(server.port);
  const proxyPort = await proxy.listen();
  cleanups.push(() => proxy.close());
  const httpPort = await serveStatic();
  const context = await launch();
  const page = context.pages()[0] || (await context.newPage());
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const room = 'h:browser';
  await page.goto(`http://127.0.0.1:${httpPort}/?room=${encodeURIComponent(room)}&ws=${encodeURIComponent(`ws://127.0.0.1:${proxyPort}/ws`)}`);
  const wait = (fn, arg) =>
    page.waitForFunction(fn, arg, { timeout: 15000, polling: 20 }).catch(async (e) => {
      const state = await page.evaluate(() => [window.room.client.state, window.room.state, window.events, window.got.length]);
      throw new Error(`${e.message}; page state: ${JSON.stringify(state)}`);
    });
  await wait(() => window.room.state === 'subscribed');

  let published = 0;
  const publish = async (from, to) => {
    for (let n = from; n <= to; n++) {
      await server.api('publish', { room, data: { n } });
      published = n;
    }
  };
  // 1. Plain delivery.
  await publish(1, 50);
  await wait(() => window.got.length >= 50);
  // 2. The network drops while the backend keeps publishing: recovered from history.
  await publish(51, 60);
  await wait(() => window.got.length >= 60);
  // The cut comes while the backend is publishing, by construction rather than by timing:
  // publish(61, 150) runs up to its first request, the cut happens, and the other 89 requests
  // follow while the page is cut off, reconnecting and recovering.
  const during = publish(61, 150);
  proxy.cut();
  const publishedAtCut = published;
  await during;
  assert.equal(publishedAtCut, 60);
  await wait(() => window.got.length >= 150 && window.room.state === 'subscribed');
  // 3. The server dies (history was only in its memory) and comes back: the page is told it
  // lost history, and the new server's seqs 1..50 are new messages, not duplicates of old ones.
  await server.stop('SIGKILL');
  await server.start();
  await wait(() => window.hooks === 1 && window.room.state === 'subscribed');
  await publish(151, 200);
  await wait(() => window.got.length >= 200);

  const got = await page.evaluate(() => window.got);
  assert.deepEqual(got, Array.from({ length: 200 }, (_, i) => i + 1));
  const events = await page.evaluate(() => window.events);
  assert.deepEqual(events.filter((e) => e[0] === 'subscribed').map((e) => e[1]), [null, true, false]);
  assert.equal(await page.evaluate(() => window.hooks), 1);
  assert.deepEqual(await page.evaluate(() => window.room.position.seq), 50);
  assert.deepEqual(errors, []);
});

test('the chat example: two pages join a room and talk', TIMEOUT, async () => {
  const chatDir = path.join(here, '../../examples/chat');
  const server = await new Server(await freePort(), ['--config', path.join(chatDir, 'ringcast.toml')]).start();
  cleanups.push(() => server.stop());
  const webPort = await freePort();
  const web = spawn(process.execPath, [path.join(chatDir, 'serve.cjs'), String(webPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => web.kill('SIGKILL'));
  await new Promise((resolve, reject) => {
    web.stdout.once('data', resolve);
    web.once('exit', (code) => reject(new Error(`serve.cjs exited with ${code}`)));
  });
  const context = await launch();
  const open = async (name) => {
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${webPort}/?ws=${encodeURIComponent(server.url)}`);
    await page.fill('#name', name);
    await page.click('#join button');
    await page.waitForSelector('#status.connected', { timeout: 15000 });
    return page;
  };
  const ann = await open('ann');
  const ben = await open('ben');
  await ann.waitForFunction(() => document.getElementById('people').textContent.startsWith('2 here'), null, { timeout: 15000 });
  await ben.fill('#text', 'hi ann');
  await ben.press('#text', 'Enter');
  await ann.waitForFunction(() => document.getElementById('log').textContent.includes('ben: hi ann'), null, { timeout: 15000 });
  assert.match(await ann.textContent('#log'), /ben joined/);
});
