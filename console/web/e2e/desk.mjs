// Browser test of the agent desk, the customer's H5 call page and the
// live monitor, driven by desk_e2e_test.go:
//   node e2e/desk.mjs BASEURL
// env: ADMIN_PASSWORD (the generated first password), NEW_PASSWORD,
// SHOT_DIR (screenshots), DL_DIR (downloads). Prints one JSON line; exits
// non-zero on any failure or any browser console error.
import { chromium } from 'playwright-core';
import { createHash } from 'node:crypto';
import path from 'node:path';

const base = process.argv[2];
const { ADMIN_PASSWORD, NEW_PASSWORD, SHOT_DIR, DL_DIR } = process.env;
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  '--auto-select-desktop-capture-source=Entire screen', '--autoplay-policy=no-user-gesture-required'];
const desktop = { width: 1366, height: 768 };
const phone = { width: 390, height: 844 };
const out = { ok: false, steps: [], errors: [], screenshots: [], unlabeled: [] };
const step = (s) => { out.steps.push(s); process.stderr.write('desk e2e: ' + s + '\n'); };
const T = 60000;

function watch(page, name) {
  page.setDefaultTimeout(T); // a loaded shared machine: generous, never a fixed sleep
  page.on('console', (m) => { if (m.type() === 'error') out.errors.push(`${name}: console: ${m.text()}`); });
  page.on('pageerror', (e) => out.errors.push(`${name}: page: ${e.message}`));
}
async function shot(page, name) {
  const f = path.join(SHOT_DIR, name + '.png');
  await page.screenshot({ path: f, fullPage: true });
  out.screenshots.push(f);
}
async function both(page, name, back = desktop) {
  for (const [sz, vp] of [['desktop', desktop], ['phone', phone]]) {
    await page.setViewportSize(vp);
    await page.waitForTimeout(300);
    await shot(page, `${name}-${sz}`);
  }
  await page.setViewportSize(back);
}
async function api(method, p, body, tok) {
  const r = await fetch(base + p, { method, headers: { 'Content-Type': 'application/json', ...(tok ? { Authorization: 'Bearer ' + tok } : {}) }, body: body ? JSON.stringify(body) : undefined });
  if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${await r.text()}`);
  return r.status === 204 ? null : r.json();
}
async function user(admin, username, role) {
  const u = await api('POST', '/api/v1/users', { tenant_id: 'province', username, display_name: username, role }, admin);
  const tok = (await api('POST', '/api/v1/auth/login', { username, password: u.initial_password })).token;
  await api('POST', '/api/v1/me/password', { old: u.initial_password, new: NEW_PASSWORD }, tok);
  return { id: u.user.id, token: (await api('POST', '/api/v1/auth/login', { username, password: NEW_PASSWORD })).token };
}
// Every control in scope must have an accessible name (aria-label,
// aria-labelledby, a <label>, text, title or alt).
async function unlabeled(page, scope, name) {
  const bad = await page.evaluate((sel) => {
    const root = document.querySelector(sel) || document.body;
    const els = root.querySelectorAll('button, a[href], input:not([type=hidden]):not([hidden]), textarea, select, video, [role=combobox], [role=radio], [role=switch]');
    const miss = [];
    for (const e of els) {
      const named = e.getAttribute('aria-label') || e.getAttribute('aria-labelledby') || (e.labels && e.labels.length) || e.textContent.trim() || e.getAttribute('title') || e.getAttribute('alt');
      if (!named) miss.push(e.outerHTML.slice(0, 120));
    }
    return miss;
  }, scope);
  for (const b of bad) out.unlabeled.push(`${name}: ${b}`);
}
const playing = (sel) => { const v = document.querySelector(sel); return v && v.videoWidth > 0 && v.currentTime > 0.3 && !v.paused; };
// green: the share of pixels of the fake camera's green in a video frame
// (a black or frozen-off preview has none).
const green = (sel) => {
  const v = document.querySelector(sel);
  if (!v || !v.videoWidth) return 0;
  const c = document.createElement('canvas'); c.width = 64; c.height = 36;
  const g = c.getContext('2d'); g.drawImage(v, 0, 0, 64, 36);
  const d = g.getImageData(0, 0, 64, 36).data; let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i + 1] > 100 && d[i] < 120 && d[i + 2] < 120) n++;
  return n / (64 * 36);
};
const showsCamera = (pg, sel) => pg.waitForFunction(`(${green})(${JSON.stringify(sel)}) > 0.3`, null, { timeout: T });
const angle = (sel) => {
  const tf = getComputedStyle(document.querySelector(sel)).transform;
  if (!tf || tf === 'none') return 0;
  const [a, b] = tf.slice(7, -1).split(',').map(Number);
  return Math.round(((Math.atan2(b, a) * 180) / Math.PI + 360) % 360);
};

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args });
try {
  // Set-up through the API: the first admin's password, a queue, an
  // agent and a supervisor.
  let r = await api('POST', '/api/v1/auth/login', { username: 'admin', password: ADMIN_PASSWORD });
  await api('POST', '/api/v1/me/password', { old: ADMIN_PASSWORD, new: NEW_PASSWORD }, r.token);
  const admin = (await api('POST', '/api/v1/auth/login', { username: 'admin', password: NEW_PASSWORD })).token;
  await api('PUT', '/api/v1/tenants/province/queues', { queues: [{ name: 'q' }], routes: [{ queue: 'q' }] }, admin);
  const agent = await user(admin, 'deskagent', 'agent');
  await user(admin, 'deskboss', 'supervisor');
  // A second agent signed in but not ready: a second seat on the map.
  const agent2 = await user(admin, 'deskagent2', 'agent');
  await api('POST', '/api/v1/agent/sign-in', { queues: ['q'] }, agent2.token);
  out.agentToken = agent.token;
  step('set-up: queue q, agent deskagent, supervisor deskboss');

  // 1. The agent signs in with the keyboard, signs in to q, goes idle.
  const actx = await browser.newContext({ viewport: desktop, locale: 'zh-CN', acceptDownloads: true });
  const apage = await actx.newPage();
  watch(apage, 'desk');
  await apage.goto(base + '/login');
  await apage.getByLabel('用户名').waitFor();
  await apage.keyboard.type('deskagent');
  await apage.keyboard.press('Tab');
  await apage.keyboard.type(NEW_PASSWORD);
  await apage.keyboard.press('Enter');
  await apage.waitForURL('**/desk');
  await apage.getByLabel('队列（逗号分隔）').fill('q');
  await apage.getByRole('button', { name: '签入' }).click();
  await apage.getByTestId('agent-state').filter({ hasText: '已签入' }).waitFor();
  await apage.getByRole('combobox', { name: '状态' }).click();
  await apage.locator('.ant-select-item-option').filter({ hasText: '空闲' }).click();
  await apage.getByTestId('agent-state').filter({ hasText: '空闲' }).waitFor();
  step('agent signed in (keyboard), queue q, idle');

  // 2. The supervisor's live monitor shows the agent idle.
  const sctx = await browser.newContext({ viewport: desktop, locale: 'zh-CN' });
  const spage = await sctx.newPage();
  watch(spage, 'monitor');
  await spage.goto(base + '/monitor');
  await spage.waitForURL('**/login');
  await spage.getByLabel('用户名').fill('deskboss');
  await spage.getByLabel('密码', { exact: true }).fill(NEW_PASSWORD);
  await spage.getByRole('button', { name: '登录' }).click();
  await spage.waitForURL('**/monitor');
  const seat = spage.locator(`[data-testid="seat"][data-agent="${agent.id}"]`);
  await seat.and(spage.locator('[data-state="idle"]')).waitFor();
  // A supervisor may not list users: the name comes with the agent's state.
  await seat.getByText('deskagent', { exact: true }).waitFor();
  await spage.locator('[data-testid="mon-live"][data-live="1"]').waitFor();
  step('monitor: agent idle on the seat map by name (a supervisor), event stream live');
  // Seat positions: move the first seat right; the order survives a reload.
  const order = () => spage.locator('[data-testid="seat"]').evaluateAll((els) => els.map((e) => e.dataset.agent));
  const before = await order();
  if (before.length !== 2) throw new Error('seats: ' + before);
  await spage.getByTestId('seat-right').first().click();
  const after = await order();
  if (after.join() !== [before[1], before[0]].join()) throw new Error(`seat move: ${before} -> ${after}`);
  await spage.reload();
  await seat.waitFor();
  if ((await order()).join() !== after.join()) throw new Error('seat order not kept after reload');
  step('monitor: seat moved and kept after a reload');
  await spage.getByLabel('排队人数 ≥').fill('1'); // warning threshold

  // 3. The customer joins from a phone; the agent is rung with the
  // customer's details.
  const cctx = await browser.newContext({ viewport: phone, locale: 'zh-CN', isMobile: true, hasTouch: true });
  const cpage = await cctx.newPage();
  watch(cpage, 'customer');
  await cpage.goto(base + '/h5?tenant=province&business=open');
  await cpage.getByLabel('客户编号').fill('desk-customer-1');
  await cpage.getByRole('button', { name: '开始排队' }).click();
  await apage.getByTestId('incoming-info').waitFor({ timeout: T });
  await apage.getByTestId('incoming-info').getByText('desk-customer-1').first().waitFor();
  await apage.getByTestId('incoming-info').getByText('无历史记录').waitFor();
  const waited = Number(await apage.getByTestId('waited').textContent());
  if (!(waited >= 0)) throw new Error('no wait time in the incoming popup');
  step(`agent rung: popup with customer, queue, waited ${waited} s, no history`);
  await unlabeled(apage, '.ant-modal', 'incoming');
  await apage.waitForTimeout(500);
  await shot(apage, 'desk-incoming-desktop');
  const ticket = await cpage.evaluate(() => JSON.parse(sessionStorage.getItem('witness.ticket')).id);
  out.ticket = ticket;
  await apage.getByTestId('answer').click();
  await apage.getByTestId('call-view').waitFor();
  await apage.waitForFunction(playing, '[data-testid="remote-video"]', { timeout: T });
  await cpage.waitForFunction(playing, '[data-testid="customer-remote-video"]', { timeout: T });
  out.deskVideo = await apage.evaluate(() => { const v = document.querySelector('[data-testid="remote-video"]'); return { width: v.videoWidth, height: v.videoHeight }; });
  step(`answered; both play video (desk sees ${out.deskVideo.width}x${out.deskVideo.height})`);
  await seat.and(spage.locator('[data-state="in_call"]')).waitFor({ timeout: T });
  await seat.getByTestId('seat-state').filter({ hasText: '通话中' }).waitFor();
  step('monitor shows the agent in call (live, no reload)');
  // A second customer waits while the agent is busy: the monitor counts
  // it per queue; it leaves before the agent is free again.
  const c2 = await api('POST', '/api/v1/queue/join', { tenant_id: 'province', customer_id: 'desk-customer-2', channel: 'h5', business: 'open' });
  await spage.locator('[data-testid="mon-queues"] [data-queue="q"]').filter({ hasText: /^1$/ }).waitFor({ timeout: T });
  await spage.locator('[data-testid="mon-waiting"] .ant-statistic-content-value').filter({ hasText: /^1$/ }).waitFor();
  await spage.getByTestId('mon-warning').waitFor();
  await shot(spage, 'monitor-waiting-desktop');
  await api('POST', `/api/v1/queue/tickets/${encodeURIComponent(c2.ticket.id)}/leave?token=${encodeURIComponent(c2.token)}`);
  await spage.getByTestId('mon-queues').getByText('无人排队').waitFor({ timeout: T });
  await spage.getByTestId('mon-warning').waitFor({ state: 'detached' });
  step('monitor: queue q shows 1 waiting with the threshold warning, then none after they left');
  await both(spage, 'monitor-incall');

  // Live alerts: the fake camera shows no face, so with the analyzers'
  // models installed the face analyzer opens an episode within seconds;
  // each opened episode (not its end) must have played a tone.
  const alertItems = apage.locator('[data-testid="alerts"] .ant-list-item');
  try { await alertItems.first().waitFor({ timeout: 20000 }); } catch { /* checked below */ }
  const alertKinds = await alertItems.allTextContents();
  if (alertKinds.length) {
    // Each opened episode plays a tone: poll (a loaded machine renders late).
    let tones = 0, opened = 0;
    for (let k = 0; k < 50; k++) {
      tones = Number(await apage.getByTestId('alerts-card').getAttribute('data-tones'));
      opened = await apage.evaluate(() => [...document.querySelectorAll('[data-testid="alerts"] .ant-list-item')].filter((li) => !/\.end\b/.test(li.textContent)).length);
      if (tones >= opened) break;
      await apage.waitForTimeout(100);
    }
    if (tones < opened) throw new Error(`alerts: ${opened} opened episodes, ${tones} tones`);
    out.alerts = alertKinds.length;
    step(`live alerts on the desk: ${alertKinds.length} (${opened} opened, ${tones} tones)`);
    // The same alerts reach the supervisor's monitor (bus → live-alerts stream).
    await spage.getByTestId('mon-alerts').getByRole('link', { name: ticket }).first().waitFor({ timeout: T });
    const monKinds = await spage.locator('[data-testid="mon-alerts"] .ant-list-item b').allTextContents();
    for (const k of monKinds) if (!alertKinds.some((d) => d.includes(k))) throw new Error(`monitor alert ${k} not on the desk: ${alertKinds}`);
    step(`monitor lists the call's live alerts: ${monKinds.join(', ')}`);
  } else step('no live alert within 20 s (live analysis off or its models absent): alert list not checked');

  // 4. Layouts, swap, rotation.
  const stage = apage.getByTestId('stage');
  for (const [label, name] of [['二分屏', 'split'], ['四分屏', 'grid'], ['画中画', 'pip']]) {
    await apage.getByTestId('layout').getByText(label, { exact: true }).click();
    await apage.locator(`[data-testid="stage"][data-layout="${name}"]`).waitFor();
    if (name === 'grid' && (await stage.locator('[data-tile]').count()) !== 4) throw new Error('grid layout has no 4 tiles');
    if (name === 'split') {
      const cols = await stage.evaluate((s) => getComputedStyle(s.firstElementChild).gridTemplateColumns.split(' ').length);
      if (cols !== 2) throw new Error('split layout has ' + cols + ' columns');
    }
  }
  const pipSmall = await stage.evaluate((s) => { const t = s.querySelector('[data-tile="local"]'); return getComputedStyle(t).position + ' ' + Math.round(t.getBoundingClientRect().width / s.getBoundingClientRect().width * 100); });
  if (!pipSmall.startsWith('absolute')) throw new Error('pip: local tile is not an overlay: ' + pipSmall);
  await apage.getByRole('button', { name: '切换主画面' }).click();
  if ((await stage.locator('[data-tile]').first().getAttribute('data-tile')) !== 'local') throw new Error('swap did not put the local video first');
  await apage.getByRole('button', { name: '切换主画面' }).click();
  const angles = [];
  await apage.getByTestId('rotate').focus(); // by keyboard: Enter on the focused button
  for (let i = 0; i < 4; i++) {
    await apage.keyboard.press('Enter');
    // The 0.2 s transition (and the re-render) take longer on a loaded
    // machine: poll up to 5 s for the next quarter turn.
    const want = ((i + 1) * 90) % 360;
    let a = await apage.evaluate(angle, '[data-testid="remote-video"]');
    for (let k = 0; k < 50 && a !== want; k++) {
      await apage.waitForTimeout(100);
      a = await apage.evaluate(angle, '[data-testid="remote-video"]');
    }
    angles.push(a);
  }
  if (angles.join(',') !== '90,180,270,0') throw new Error('rotation angles ' + angles.join(','));
  await apage.waitForFunction(playing, '[data-testid="remote-video"]', { timeout: T });
  step(`layouts pip/split/grid, swap, rotation ${angles.join('/')}° by keyboard (computed transform)`);

  // 5. Chat both ways (the agent with the keyboard only).
  await apage.getByLabel('输入消息').focus();
  await apage.keyboard.type('您好，请出示身份证 👋');
  await apage.keyboard.press('Enter');
  await cpage.getByTestId('customer-chat').getByText('您好，请出示身份证 👋').waitFor();
  await cpage.getByLabel('输入消息').fill('好的，稍等');
  await cpage.getByRole('button', { name: '发送', exact: true }).click();
  await apage.getByTestId('desk-chat').getByText('好的，稍等').waitFor();
  await apage.locator('[data-testid="desk-chat"] [data-mine="1"]').getByText('您好，请出示身份证 👋').waitFor();
  await cpage.locator('[data-testid="customer-chat"] [data-mine="1"]').getByText('好的，稍等').waitFor();
  step('chat both ways (each side also lists its own line)');

  // 6. A small PDF from the agent; the customer downloads it with its own
  // room token and gets the same bytes.
  const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n' + 'x'.repeat(3000));
  out.fileSHA = createHash('sha256').update(pdf).digest('hex');
  await apage.getByTestId('desk-chat-file-input').setInputFiles({ name: '风险揭示书.pdf', mimeType: 'application/pdf', buffer: pdf });
  const link = cpage.getByTestId('customer-chat').getByTestId('chat-file');
  await link.waitFor({ timeout: T });
  const got = await link.evaluate(async (a) => {
    const r = await fetch(a.href);
    const b = new Uint8Array(await r.arrayBuffer());
    const h = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', b)), (x) => x.toString(16).padStart(2, '0')).join('');
    return { status: r.status, size: b.length, sha: h, name: a.getAttribute('download') };
  });
  if (got.status !== 200 || got.sha !== out.fileSHA) throw new Error('customer file: ' + JSON.stringify(got));
  await apage.locator('[data-testid="desk-chat"] [data-mine="1"] [data-testid="chat-file"]').waitFor();
  step(`file ${got.name} (${got.size} B) received by the customer, sha256 matches`);
  // The customer may send images only: a PNG reaches the agent.
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
  await cpage.getByTestId('customer-chat-file-input').setInputFiles({ name: 'id-card.png', mimeType: 'image/png', buffer: png });
  await apage.getByTestId('desk-chat').getByText(/id-card\.png/).waitFor({ timeout: T });
  step('customer sent a PNG to the agent');

  // 7. Hold and resume: both sides show it.
  await apage.getByTestId('hold').focus();
  await apage.keyboard.press('Space');
  await apage.getByTestId('hold-banner').waitFor();
  await cpage.getByTestId('customer-hold').waitFor();
  await shot(cpage, 'h5-hold-phone');
  await apage.getByTestId('hold').click();
  await apage.getByTestId('hold-banner').waitFor({ state: 'detached' });
  await cpage.getByTestId('customer-hold').waitFor({ state: 'detached' });
  step('hold (keyboard) and resume seen on both sides');

  // 8. Snapshot: downloaded PNG, thumbnail, stored in the room.
  const [dl] = await Promise.all([apage.waitForEvent('download'), apage.getByTestId('snapshot').click()]);
  out.snapshot = path.join(DL_DIR, dl.suggestedFilename());
  await dl.saveAs(out.snapshot);
  await apage.locator('[data-testid="snapshot-img"][data-stored="1"]').waitFor({ timeout: T });
  out.snapSize = await apage.getByTestId('snapshot-img').first().evaluate((i) => ({ width: i.naturalWidth, height: i.naturalHeight }));
  if (!(out.snapSize.width > 0)) throw new Error('snapshot thumbnail has no pixels');
  step(`snapshot ${dl.suggestedFilename()} downloaded (${out.snapSize.width}x${out.snapSize.height}, the video's size then), thumbnail shown, stored in the room`);

  // 9. Recording segments: stop segment 1, start segment 2.
  await apage.getByTestId('rec-stop').click();
  await apage.locator('[data-testid="rec-status"][data-state="stopping"]').waitFor({ timeout: T });
  await apage.getByText('录制分段已结束').waitFor();
  await apage.getByTestId('rec-start').click();
  await apage.locator('[data-testid="rec-status"][data-state="recording"][data-segment="2"]').waitFor({ timeout: T });
  step('recording segment 1 stopped, segment 2 started (server acknowledged)');

  // 10. Network status from the protocol's stats on both sides.
  for (const [pg, who] of [[apage, 'desk'], [cpage, 'customer']]) {
    await pg.waitForFunction(() => { const e = document.querySelector('[data-testid="net-status"][data-ready="1"]'); return e && Number(e.dataset.up) > 0 && Number(e.dataset.down) > 0; }, null, { timeout: T });
    out[who + 'Net'] = await pg.locator('[data-testid="net-status"]').evaluate((e) => ({ rtt: +e.dataset.rtt, loss: +e.dataset.loss, up: +e.dataset.up, down: +e.dataset.down }));
  }
  step(`network status: desk ${JSON.stringify(out.deskNet)}, customer ${JSON.stringify(out.customerNet)}`);

  // 11. Screen share: the customer receives it as a second video.
  await apage.getByTestId('screen-share').click();
  await apage.getByTestId('local-screen').waitFor({ timeout: T });
  await cpage.waitForFunction(playing, '[data-testid="customer-remote-screen"]', { timeout: T });
  out.screenVideo = await cpage.evaluate(() => { const v = document.querySelector('[data-testid="customer-remote-screen"]'); return { width: v.videoWidth, height: v.videoHeight }; });
  await both(apage, 'desk-call-screen');
  await apage.getByTestId('screen-share').click();
  await cpage.getByTestId('customer-remote-screen').waitFor({ state: 'detached', timeout: T });
  step(`screen share shown to the customer (${out.screenVideo.width}x${out.screenVideo.height}) and stopped`);

  // 12. The customer switches camera, goes audio-only and back.
  await cpage.getByTestId('switch-camera').click();
  await cpage.locator('[data-testid="switch-camera"][data-facing="environment"]').waitFor();
  await cpage.waitForFunction(playing, '[data-testid="customer-local-video"]', { timeout: T });
  await cpage.getByTestId('audio-only').click();
  await cpage.getByTestId('audio-only-banner').waitFor();
  // Audio only: the server stops sending the agent's video to the phone
  // (its stats: 0 kbit/s of video down) while the agent's voice goes on.
  await cpage.waitForFunction(() => { const e = document.querySelector('[data-testid="net-status"][data-ready="1"]'); return e && Number(e.dataset.downVideo) === 0 && Number(e.dataset.downAudio) > 0; }, null, { timeout: T });
  out.audioOnlyNet = await cpage.locator('[data-testid="net-status"]').evaluate((e) => ({ video: +e.dataset.downVideo, audio: +e.dataset.downAudio }));
  await cpage.getByTestId('audio-only').click();
  await cpage.getByTestId('audio-only-banner').waitFor({ state: 'detached' });
  await cpage.waitForFunction(() => Number(document.querySelector('[data-testid="net-status"]')?.dataset.downVideo) > 0, null, { timeout: T });
  await cpage.waitForFunction(playing, '[data-testid="customer-local-video"]', { timeout: T });
  for (const sel of ['[data-testid="customer-local-video"]', '[data-testid="customer-remote-video"]']) await showsCamera(cpage, sel);
  await showsCamera(apage, '[data-testid="remote-video"]');
  step(`customer: camera switched (facingMode), audio-only (down: video ${out.audioOnlyNet.video}, audio ${out.audioOnlyNet.audio} kbit/s) and back`);

  await unlabeled(apage, '[data-testid="desk"]', 'desk');
  await unlabeled(cpage, 'main', 'customer');
  await both(apage, 'desk-call');
  await both(cpage, 'h5-call', phone);

  // 13. Hang up: wrap-up on the desk, rating on the phone; the monitor
  // sees the agent leave the call.
  await apage.getByRole('button', { name: '挂断' }).click();
  await apage.getByTestId('call-view').waitFor({ state: 'detached' });
  await apage.getByTestId('wrapup').waitFor();
  await cpage.getByText('服务已结束').waitFor();
  await cpage.getByTestId('rating').waitFor();
  await spage.waitForFunction((id) => { const s = document.querySelector(`[data-testid="seat"][data-agent="${id}"]`); return s && s.dataset.state !== 'in_call'; }, agent.id, { timeout: T });
  await spage.locator('[data-testid="mon-business"] [data-business="open"]').waitFor({ timeout: T });
  step('hung up: wrap-up form, rating form, monitor updated (agent out of call, business share)');

  await apage.getByLabel('服务小结').fill('客户已完成开户，证件核验通过');
  // click, then wait for the state: Playwright's check() reads the state
  // right after the click, before antd's form store has re-rendered the
  // controlled box on a loaded machine ("did not change its state").
  const done = apage.getByLabel('业务办理完成');
  await done.click();
  await apage.waitForFunction((el) => el.checked, await done.elementHandle(), { timeout: T });
  await apage.getByRole('combobox', { name: '客户标签' }).click();
  await apage.keyboard.type('VIP客户');
  await apage.keyboard.press('Enter');
  await apage.getByTestId('wrapup').locator('.ant-select-selection-item').filter({ hasText: 'VIP客户' }).waitFor();
  await apage.getByLabel('服务小结').focus(); // leave the tags field
  await unlabeled(apage, '[data-testid="wrapup"]', 'wrapup');
  await both(apage, 'desk-wrapup');
  await apage.getByTestId('wrapup-submit').click();
  await apage.getByTestId('wrapup-done').waitFor({ timeout: T });
  step('wrap-up submitted');

  await cpage.getByLabel('5 分').click();
  await unlabeled(cpage, 'main', 'rating');
  await both(cpage, 'h5-rating', phone);
  await cpage.getByTestId('rate-submit').click();
  await cpage.getByTestId('rated').waitFor({ timeout: T });
  step('customer rated 5');

  const rec = await api('GET', '/api/v1/records/' + encodeURIComponent(ticket), null, agent.token);
  out.record = { status: rec.status, summary: rec.summary, summary_options: rec.summary_options, customer_tags: rec.customer_tags, rating: rec.rating, chat: (rec.chat || []).length };
  if (rec.summary !== '客户已完成开户，证件核验通过' || !rec.customer_tags.includes('VIP客户') || !rec.summary_options.includes('业务办理完成') || rec.rating !== 5 || rec.chat.length < 2)
    throw new Error('record after wrap-up and rating: ' + JSON.stringify(out.record));
  step('record: ' + JSON.stringify(out.record));

  // 14. Forced state change from the monitor; the desk follows.
  await seat.getByRole('combobox').click();
  await spage.locator('.ant-select-item-option').filter({ hasText: '小休' }).click();
  await seat.getByTestId('force').click();
  await seat.and(spage.locator('[data-state="break"]')).waitFor({ timeout: T });
  await apage.getByTestId('agent-state').filter({ hasText: '小休' }).waitFor({ timeout: T });
  step('monitor forced the agent to break; the desk shows it');
  await unlabeled(spage, '[data-testid="monitor"]', 'monitor');
  await both(spage, 'monitor');

  // 15. The same customer queues again: the popup now lists the previous
  // service with its summary and the tags the agent gave; the customer
  // gives up and the popup closes.
  await apage.getByRole('combobox', { name: '状态' }).focus(); // opened by keyboard
  await apage.keyboard.press('ArrowDown');
  await apage.locator('.ant-select-item-option').filter({ hasText: '空闲' }).click();
  await apage.getByTestId('agent-state').filter({ hasText: '空闲' }).waitFor();
  await cpage.getByRole('button', { name: '开始排队' }).click();
  await cpage.getByLabel('客户编号').fill('desk-customer-1');
  await cpage.getByRole('button', { name: '开始排队' }).click();
  await apage.getByTestId('history').getByText(/客户已完成开户，证件核验通过/).waitFor({ timeout: T });
  await apage.getByTestId('incoming-info').getByText('VIP客户', { exact: true }).waitFor();
  await apage.waitForTimeout(500); // the modal's opening animation
  await shot(apage, 'desk-incoming-history-desktop');
  await cpage.getByRole('button', { name: '离开队列' }).click();
  await apage.getByTestId('incoming-info').waitFor({ state: 'hidden', timeout: T });
  step('second visit: the popup shows the previous service and the customer tag; gone when the customer left');

  // 16. English, for the pages' second language.
  await apage.getByTestId('lang').click();
  await apage.getByText('Agent desk').first().waitFor();
  await apage.getByTestId('lang').click();

  await actx.close(); await cctx.close(); await sctx.close();
  if (out.unlabeled.length) out.errors.push('controls without an accessible name: ' + out.unlabeled.join(' | '));
  out.ok = out.errors.length === 0;
} catch (e) {
  out.errors.push('failed: ' + (e && e.stack || e));
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(out.ok ? 0 : 1);
