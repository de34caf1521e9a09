// Browser test of the web console, driven by e2e_test.go:
//   node e2e/run.mjs BASEURL
// env: ADMIN_PASSWORD (the generated first password), NEW_PASSWORD,
// SHOT_DIR (screenshots), FAKE_Y4M / FAKE_WAV (the fake camera and
// microphone: a clip of a face that leaves the frame), DOWNLOAD_DIR.
// Prints one JSON line; exits non-zero on any failure or any browser
// console error.
import { chromium } from 'playwright-core';
import path from 'node:path';
import fs from 'node:fs';
import crypto from 'node:crypto';

const base = process.argv[2];
const { ADMIN_PASSWORD, NEW_PASSWORD, SHOT_DIR, FAKE_Y4M, FAKE_WAV, DOWNLOAD_DIR } = process.env;
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  ...(FAKE_Y4M ? ['--use-file-for-fake-video-capture=' + FAKE_Y4M, '--use-file-for-fake-audio-capture=' + FAKE_WAV] : [])];
const desktop = { width: 1366, height: 768 };
const phone = { width: 390, height: 844 };
const out = { ok: false, steps: [], errors: [], screenshots: [] };
const t0 = Date.now();
const step = (s) => { s = `[${((Date.now() - t0) / 1000).toFixed(1)} s] ${s}`; out.steps.push(s); process.stderr.write('e2e: ' + s + '\n'); };

function watch(page, name) {
  page.on('console', (m) => { if (m.type() === 'error') out.errors.push(`${name}: console: ${m.text()}`); });
  page.on('pageerror', (e) => out.errors.push(`${name}: page: ${e.message}`));
}
async function shot(page, name) {
  const f = path.join(SHOT_DIR, name + '.png');
  await page.screenshot({ path: f, fullPage: true });
  out.screenshots.push(f);
}
async function both(page, name) {
  for (const [sz, vp] of [['desktop', desktop], ['phone', phone]]) {
    await page.setViewportSize(vp);
    await page.waitForTimeout(300); // let ECharts' ResizeObserver redraw
    await shot(page, `${name}-${sz}`);
  }
  await page.setViewportSize(desktop);
}
// bluePixels counts pixels of the bar colour (#1677ff) in a chart's canvas.
async function bluePixels(page, testId) {
  return page.evaluate((id) => {
    const c = document.querySelector(`[data-testid="${id}"] canvas`);
    if (!c) return -1;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - 22) < 8 && Math.abs(d[i + 1] - 119) < 8 && Math.abs(d[i + 2] - 255) < 8) n++;
    return n;
  }, testId);
}
async function sha256File(f) {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(f)) h.update(chunk);
  return h.digest('hex');
}
// playerReady: the record page's <video> has decoded a frame.
const playerReady = () => { const v = document.querySelector('[data-testid="player"]'); return !!v && v.readyState >= 2 && v.duration > 0 && v.videoWidth > 0; };
const seekedTo = (at) => { const v = document.querySelector('[data-testid="player"]'); return !!v && !v.seeking && Math.abs(v.currentTime - Math.min(at, v.duration)) < 0.3; };
async function api(method, p, body, tok) {
  const r = await fetch(base + p, { method, headers: { 'Content-Type': 'application/json', ...(tok ? { Authorization: 'Bearer ' + tok } : {}) }, body: body ? JSON.stringify(body) : undefined });
  if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${await r.text()}`);
  return r.status === 204 ? null : r.json();
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args });
try {
  // 1. Admin: keyboard-only sign-in with the first password, forced change.
  const ctx = await browser.newContext({ viewport: desktop, locale: 'zh-CN', acceptDownloads: true });
  const page = await ctx.newPage();
  page.setDefaultTimeout(60000);
  watch(page, 'console');
  await page.goto(base + '/');
  await page.waitForURL('**/login');
  await page.getByLabel('用户名').waitFor();
  await both(page, 'login');
  await page.keyboard.type('admin'); // the user name field has focus
  await page.keyboard.press('Tab');
  await page.keyboard.type(ADMIN_PASSWORD);
  await page.keyboard.press('Enter');
  await page.getByTestId('change-form').waitFor();
  step('first sign-in asks for a new password');
  await shot(page, 'change-password-desktop');
  await page.getByLabel('新密码（至少10位，含字母和数字）').fill(NEW_PASSWORD);
  await page.getByLabel('确认新密码').fill(NEW_PASSWORD);
  await page.keyboard.press('Enter');
  await page.waitForURL('**/dashboard');
  await page.locator('[data-testid="chart-agents"] canvas').waitFor();
  step('password changed, dashboard with charts');

  // Set-up through the API with the new password: a queue for the customer.
  const admin = (await api('POST', '/api/v1/auth/login', { username: 'admin', password: NEW_PASSWORD })).token;
  await api('PUT', '/api/v1/tenants/province/queues', { queues: [{ name: 'q' }], routes: [{ queue: 'q' }] }, admin);
  // A bank with a branch, for the records page's tenant and branch filters.
  await api('POST', '/api/v1/tenants', { id: 'bank1', parent_id: 'province', name: 'Bank One', level: 'bank', whitelisted: true }, admin);
  await api('POST', '/api/v1/tenants', { id: 'br1', parent_id: 'bank1', name: 'Branch One', level: 'branch', whitelisted: true }, admin);

  // 2. Customer on a phone: join, live position, then the dashboard sees it.
  const cctx = await browser.newContext({ viewport: phone, locale: 'zh-CN', isMobile: true, hasTouch: true });
  const cpage = await cctx.newPage();
  cpage.setDefaultTimeout(60000);
  watch(cpage, 'customer');
  await cpage.goto(base + '/h5?tenant=province&business=open');
  await cpage.getByLabel('客户编号').fill('e2e-customer-1');
  await shot(cpage, 'h5-join-phone');
  await cpage.getByRole('button', { name: '开始排队' }).click();
  await cpage.locator('[data-testid="position"] .ant-statistic-content-value').filter({ hasText: /^1$/ }).waitFor();
  const ticket = await cpage.evaluate(() => JSON.parse(sessionStorage.getItem('witness.ticket')).id);
  step('customer joined, position 1, ticket ' + ticket);
  await shot(cpage, 'h5-queued-phone');
  await cpage.setViewportSize(desktop);
  await shot(cpage, 'h5-queued-desktop');

  await page.getByRole('button', { name: '刷新' }).click();
  await page.waitForFunction(() => [...document.querySelectorAll('.ant-statistic')].some((s) => s.textContent.startsWith('排队中') && s.querySelector('.ant-statistic-content-value')?.textContent === '1'));
  let blue = 0;
  for (let i = 0; i < 50 && blue <= 0; i++) { blue = await bluePixels(page, 'chart-queues'); if (blue <= 0) await page.waitForTimeout(200); }
  if (blue <= 0) throw new Error('queue chart drew no bar for the waiting customer');
  out.queueBarPixels = blue;
  step(`dashboard shows 1 waiting, queue bar drawn (${blue} px)`);
  await both(page, 'dashboard');

  // 3. The other pages render (records); the desk is refused to an
  // administrator; English switch works.
  await page.getByRole('link', { name: '录像记录' }).click();
  await page.getByTestId('records').waitFor();
  await page.locator('.ant-table').waitFor();
  await both(page, 'records');
  await page.goto(base + '/desk');
  await page.getByText('此账号无权访问该页面').waitFor();
  step('desk refused to the administrator');
  await page.getByTestId('lang').click();
  await page.getByText('Recordings', { exact: true }).first().waitFor();
  step('English switch');
  await page.getByTestId('lang').click();

  // 4. An agent (created and given a password through the API) signs in
  // and lands on the desk; signs in to the queue and goes idle.
  const created = await api('POST', '/api/v1/users', { tenant_id: 'province', username: 'agent1', display_name: 'Agent One', role: 'agent' }, admin);
  const atok = (await api('POST', '/api/v1/auth/login', { username: 'agent1', password: created.initial_password })).token;
  await api('POST', '/api/v1/me/password', { old: created.initial_password, new: NEW_PASSWORD }, atok);
  const actx = await browser.newContext({ viewport: desktop, locale: 'zh-CN' });
  const apage = await actx.newPage();
  apage.setDefaultTimeout(60000);
  watch(apage, 'desk');
  await apage.goto(base + '/login');
  await apage.getByLabel('用户名').fill('agent1');
  await apage.getByLabel('密码', { exact: true }).fill(NEW_PASSWORD);
  await apage.getByRole('button', { name: '登录' }).click();
  await apage.waitForURL('**/desk');
  await apage.getByLabel('队列（逗号分隔）').fill('q');
  await apage.getByRole('button', { name: '签入' }).click();
  await apage.getByTestId('agent-state').filter({ hasText: '已签入' }).waitFor();
  step('agent signed in to queue q');
  await both(apage, 'desk');
  out.agentPage = true;

  // 5. The agent goes idle and is rung for the waiting customer, answers;
  // the desk joins the room with the agent's tokens, the customer's H5
  // page with the customer's own (GET /rtc/tickets/{id}/join): both must
  // play each other's video.
  await apage.getByRole('combobox', { name: '状态' }).click();
  await apage.locator('.ant-select-item-option').filter({ hasText: '空闲' }).click();
  await apage.getByTestId('answer').waitFor();
  step('agent rung');
  await shot(apage, 'desk-ringing-desktop');
  await apage.getByTestId('answer').click();
  await apage.getByTestId('call-view').waitFor();
  await cpage.getByText(/坐席已接入，正在连接视频…|正在与坐席视频通话/).waitFor();
  step('answered: desk call view, customer page says connected');
  const playing = (sel) => { const v = document.querySelector(sel); return v && v.videoWidth > 0 && v.currentTime > 0.5; };
  await apage.waitForFunction(playing, '[data-testid="remote-video"]', { timeout: 60000 });
  await cpage.waitForFunction(playing, '[data-testid="customer-remote-video"]', { timeout: 60000 });
  out.deskVideo = await apage.evaluate(() => { const v = document.querySelector('[data-testid="remote-video"]'); return { width: v.videoWidth, height: v.videoHeight }; });
  out.customerVideo = await cpage.evaluate(() => { const v = document.querySelector('[data-testid="customer-remote-video"]'); return { width: v.videoWidth, height: v.videoHeight }; });
  step(`both sides play video (desk sees ${out.deskVideo.width}x${out.deskVideo.height}, customer ${out.customerVideo.width}x${out.customerVideo.height})`);
  // The customer's camera is a face that leaves the frame: the live
  // analysis raises face.missing on the agent's desk during the call.
  await apage.getByTestId('alerts').getByText('face.missing', { exact: true }).first().waitFor({ timeout: 120000 });
  out.alert = 'face.missing';
  step('desk shows the live face.missing alert');
  await cpage.setViewportSize(phone);
  await shot(cpage, 'h5-call-phone');
  await apage.getByRole('button', { name: '静音' }).click();
  await apage.getByRole('button', { name: '取消静音' }).waitFor();
  await apage.getByRole('button', { name: '关闭摄像头' }).click();
  await apage.getByRole('button', { name: '打开摄像头' }).waitFor();
  await apage.getByLabel('标记说明').fill('客户确认风险提示');
  await apage.getByRole('button', { name: '添加标记' }).click();
  await apage.getByText('已添加标记: 客户确认风险提示').waitFor();
  step('agent marked the recording');
  await both(apage, 'desk-call');
  await apage.getByRole('button', { name: '挂断' }).click();
  await apage.getByTestId('call-view').waitFor({ state: 'detached' });
  await cpage.getByText('服务已结束').waitFor();
  step('hung up: the customer page shows the end');

  // 6. The recording in the console: it appears in the records list with
  // its QC verdict once finalised, uploaded and checked (polled).
  await page.goto(base + '/records');
  await page.getByTestId('records-table').waitFor();
  const verdictOf = (tk) => page.evaluate((tk) => {
    const a = [...document.querySelectorAll('[data-testid="records-table"] a')].find((x) => x.textContent === tk);
    return a ? (a.closest('tr').querySelector('[data-testid="qc-verdict"]')?.getAttribute('data-verdict') || 'pending') : '';
  }, tk);
  let verdict = '';
  for (const deadline = Date.now() + 240000; ;) {
    const r = page.waitForResponse((r) => r.url().includes('/api/v1/records?'));
    await page.getByTestId('records-filters').getByRole('button', { name: '查询' }).click();
    await r;
    await page.waitForTimeout(300);
    verdict = await verdictOf(ticket);
    if (verdict && verdict !== 'pending') break;
    if (Date.now() > deadline) throw new Error(`no QC verdict for ${ticket} in the records list (row: ${verdict || 'absent'})`);
    await page.waitForTimeout(2000);
  }
  out.verdict = verdict;
  step(`records list shows ${ticket} with QC verdict ${verdict}`);
  // The QC-verdict filter, kept in the URL (also across a reload).
  const vlabel = { pass: '通过', warn: '警告', fail: '不通过' }[verdict];
  await page.getByRole('combobox', { name: '质检结论' }).click();
  await page.locator('.ant-select-item-option').filter({ hasText: new RegExp('^' + vlabel + '$') }).click();
  await page.getByTestId('records-filters').getByRole('button', { name: '查询' }).click();
  await page.waitForURL(new RegExp('[?&]qc=' + verdict));
  await page.getByTestId('records-table').getByRole('link', { name: ticket }).waitFor();
  await page.reload();
  await page.getByTestId('records-table').getByRole('link', { name: ticket }).waitFor();
  await page.getByTestId('records-filters').getByText(vlabel, { exact: true }).waitFor();
  const other = verdict === 'fail' ? 'pass' : 'fail';
  const rOther = page.waitForResponse((r) => r.url().includes('/api/v1/records?') && r.url().includes('qc=' + other));
  await page.goto(base + '/records?qc=' + other);
  const bodyOther = await (await rOther).json();
  await page.waitForTimeout(300);
  if (bodyOther.records.some((x) => x.id === ticket) || await page.getByTestId('records-table').getByRole('link', { name: ticket }).count()) {
    throw new Error(`qc=${other} still lists ${ticket} (verdict ${verdict})`);
  }
  step(`QC-verdict filter: qc=${verdict} lists the call, qc=${other} does not; kept in the URL`);
  await page.goto(base + '/records?qc=' + verdict);
  await page.getByTestId('records-table').getByRole('link', { name: ticket }).waitFor();
  await both(page, 'records-verdict');
  // Tenant (with its branches) and branch filters: the call is the
  // province's own, so province lists it, Bank One and its branch do not.
  const choose = async (label, option) => {
    await page.locator('.ant-select').filter({ has: page.getByRole('combobox', { name: label, exact: true }) }).click();
    await page.locator('.ant-select-dropdown:visible .ant-select-item-option').filter({ hasText: new RegExp('^' + option + '$') }).click();
  };
  const listed = async (re) => {
    const r = page.waitForResponse((r) => r.url().includes('/api/v1/records?'));
    await page.getByTestId('records-filters').getByRole('button', { name: '查询' }).click();
    await r;
    await page.waitForURL(re);
    await page.waitForTimeout(300);
    return (await page.getByTestId('records-table').getByRole('link', { name: ticket }).count()) > 0;
  };
  await choose('机构（含下属网点）', 'Province');
  if (!await listed(/within=province/)) throw new Error('tenant filter Province does not list the call');
  await choose('网点', 'Branch One');
  if (await listed(/within=province.*tenant=br1|tenant=br1.*within=province/)) throw new Error('branch filter Branch One lists the province\'s call');
  await choose('机构（含下属网点）', 'Bank One');
  if (await listed(/within=bank1/)) throw new Error('tenant filter Bank One lists the province\'s call');
  step('tenant and branch filters: Province lists the call, Bank One and Branch One do not; all in the URL');
  await page.goto(base + '/records?qc=' + verdict);
  await page.getByTestId('records-table').getByRole('link', { name: ticket }).waitFor();

  // 7. The detail page: the player loads the composite recording, the
  // timeline has the analyzer markers (the sidecar is uploaded with the
  // recording: polled), a click seeks, the download is the file.
  await page.getByTestId('records-table').getByRole('link', { name: ticket }).click();
  await page.getByTestId('record-detail').waitFor();
  await page.waitForFunction(playerReady, null, { timeout: 90000 });
  for (const deadline = Date.now() + 120000; ;) {
    if (await page.locator('[data-testid="tl-item"][data-cat="auto"]').count() > 0) break;
    if (Date.now() > deadline) throw new Error('no analyzer markers on the timeline');
    await page.waitForTimeout(2000);
    await page.reload();
    await page.waitForFunction(playerReady, null, { timeout: 90000 });
  }
  await page.getByTestId('timeline').getByText('客户确认风险提示').waitFor();
  await page.getByTestId('detail-verdict').waitFor();
  out.player = await page.evaluate(() => { const v = document.querySelector('[data-testid="player"]'); return { readyState: v.readyState, duration: v.duration, width: v.videoWidth }; });
  out.autoItems = await page.locator('[data-testid="tl-item"][data-cat="auto"]').count();
  const kinds = await page.locator('[data-testid="tl-item"][data-cat="auto"]').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')));
  out.autoKinds = kinds;
  step(`player ready (${out.player.duration.toFixed(1)} s, ${out.player.width} px wide); ${out.autoItems} analyzer markers: ${kinds.join('; ')}`);
  // Click the analyzer marker furthest from the start: the player seeks.
  const items = page.locator('[data-testid="tl-item"][data-cat="auto"]');
  let pick = 0, best = -1;
  const ats = await items.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-at'))));
  ats.forEach((a, i) => { if (a > best && a < out.player.duration - 0.2) { best = a; pick = i; } });
  if (best <= 0.3) best = ats[pick];
  await items.nth(pick).click();
  await page.waitForFunction(seekedTo, best, { timeout: 30000 });
  out.seek = { want: Math.min(best, out.player.duration), got: await page.evaluate(() => document.querySelector('[data-testid="player"]').currentTime) };
  step(`clicked the marker at ${best.toFixed(2)} s: the player is at ${out.seek.got.toFixed(2)} s`);
  await page.waitForTimeout(1000); // the player's spinner clears after a seek
  await both(page, 'record-detail');
  await page.getByTestId('lang').click();
  await page.getByText('Recording playback', { exact: true }).waitFor();
  await page.getByText('Automatic (analyzers)', { exact: true }).first().waitFor();
  await shot(page, 'record-detail-en-desktop');
  await page.getByTestId('lang').click();
  await page.getByText('录像回放', { exact: true }).waitFor();
  step('detail page in English');
  const rec = await api('GET', '/api/v1/records/' + encodeURIComponent(ticket), null, admin);
  const comp = rec.recordings.map((l) => l.key.split('/').pop()).find((n) => n.endsWith('.mp4'));
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: '下载录像文件 ' + comp, exact: true }).click()]);
  const saved = path.join(DOWNLOAD_DIR || SHOT_DIR, dl.suggestedFilename());
  await dl.saveAs(saved);
  out.download = { name: dl.suggestedFilename(), size: fs.statSync(saved).size, sha256: await sha256File(saved) };
  step(`downloaded ${out.download.name}: ${out.download.size} bytes, sha256 ${out.download.sha256.slice(0, 16)}…`);

  // 8. The agent reviews the own call: player, seek to 2 s, a manual
  // marker at the player's position appears on the timeline.
  await apage.goto(base + '/records');
  await apage.getByTestId('records-table').getByRole('link', { name: ticket }).click();
  await apage.getByTestId('record-detail').waitFor();
  await apage.waitForFunction(playerReady, null, { timeout: 90000 });
  await apage.evaluate(() => { document.querySelector('[data-testid="player"]').currentTime = 2; });
  await apage.waitForFunction(seekedTo, 2, { timeout: 30000 });
  const at = await apage.evaluate(() => document.querySelector('[data-testid="player"]').currentTime);
  out.reviewMark = { label: '复核：客户离开画面', at };
  await apage.getByLabel('人工标记说明').fill(out.reviewMark.label);
  await apage.getByRole('button', { name: '在当前播放位置添加标记' }).click();
  await apage.getByTestId('timeline').getByText(out.reviewMark.label).waitFor();
  if (await apage.locator('[data-testid="tl-item"][data-cat="manual"]').count() < 2) throw new Error('manual markers missing on the agent\'s timeline');
  step(`agent added a manual marker at ${at.toFixed(2)} s from the player`);
  // Another agent of the tenant sees nothing of this call: record, QC,
  // events, file links, markers (read and write) all 404.
  const c2 = await api('POST', '/api/v1/users', { tenant_id: 'province', username: 'agent2', display_name: 'Agent Two', role: 'agent' }, admin);
  const a2 = (await api('POST', '/api/v1/auth/login', { username: 'agent2', password: c2.initial_password })).token;
  await api('POST', '/api/v1/me/password', { old: c2.initial_password, new: NEW_PASSWORD }, a2);
  const tk = encodeURIComponent(ticket);
  const probes = [['GET', `/api/v1/records/${tk}`], ['GET', `/api/v1/records/${tk}/qc`], ['GET', `/api/v1/records/${tk}/events`],
    ['POST', `/api/v1/records/${tk}/files/${encodeURIComponent(comp)}/link`, { purpose: 'download' }], ['GET', `/api/v1/records/${tk}/files/${encodeURIComponent(comp)}`],
    ['GET', `/api/v1/markers/recordings/${tk}/markers`], ['POST', `/api/v1/markers/recordings/${tk}/markers`, { at_ms: 1, label: 'x' }]];
  for (const [m, p, body] of probes) {
    const r = await fetch(base + p, { method: m, headers: { Authorization: 'Bearer ' + a2, 'Content-Type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
    if (r.status !== 404) throw new Error(`another agent: ${m} ${p}: ${r.status}, want 404`);
  }
  step(`another agent gets 404 on the call's record, QC, events, files and markers (${probes.length} requests)`);
  await apage.waitForTimeout(1000);
  await both(apage, 'record-detail-agent');

  // 8b. The call in the reports: the admin exports the agent KPI report
  // (Excel); the Go side opens it with excelize.
  await page.goto(base + '/reports');
  await page.getByTestId('reports').waitFor();
  await page.getByTestId('rp-tab-agents').click();
  await page.getByTestId('rp-table-agents').locator('tbody tr.ant-table-row').first().waitFor();
  let exportURL = '';
  page.on('request', (r) => { if (r.url().includes('/xlsx?')) exportURL = r.url(); });
  const [xl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('rp-export').click()]);
  const xlFile = path.join(DOWNLOAD_DIR || SHOT_DIR, 'agents.xlsx');
  await xl.saveAs(xlFile);
  const xu = new URL(exportURL);
  xu.searchParams.delete('lang');
  out.report = { file: xlFile, name: xl.suggestedFilename(), query: xu.searchParams.toString() };
  step(`agent KPI report exported as ${out.report.name}`);
  await shot(page, 'report-agents-desktop');

  // 8c. Today's dashboard counts the call: answer rate, a bar for the
  // agent, the business's answered bar.
  await page.goto(base + '/dashboard');
  await page.getByTestId('answer-ratio').getByText('100.0').waitFor();
  let agentBar = 0, bizBar = 0;
  for (let i = 0; i < 50 && (agentBar <= 0 || bizBar <= 0); i++) {
    agentBar = await bluePixels(page, 'chart-per-agent');
    bizBar = await bluePixels(page, 'chart-business');
    if (agentBar <= 0 || bizBar <= 0) await page.waitForTimeout(200);
  }
  out.dashboard = { agentBar, bizBar };
  step(`dashboard: answer rate 100.0 %, calls-per-agent bar ${agentBar} px, business bar ${bizBar} px`);
  await both(page, 'dashboard-after-call');

  // 9. A second customer joins and leaves.
  await cpage.getByRole('button', { name: '开始排队' }).click();
  await cpage.getByLabel('客户编号').fill('e2e-customer-2');
  await cpage.getByRole('button', { name: '开始排队' }).click();
  await cpage.getByTestId('queue-card').waitFor();
  await cpage.getByRole('button', { name: '离开队列' }).click();
  await cpage.getByText('您已离开队列').waitFor();
  step('second customer joined and left');
  out.ticket = ticket;
  await actx.close();
  await cctx.close();
  await ctx.close();
  out.ok = out.errors.length === 0;
} catch (e) {
  out.errors.push('failed: ' + (e && e.stack || e));
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(out.ok ? 0 : 1);
