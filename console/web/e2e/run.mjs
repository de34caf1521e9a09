// Browser test of the web console, driven by e2e_test.go:
//   node e2e/run.mjs BASEURL
// env: ADMIN_PASSWORD (the generated first password), NEW_PASSWORD,
// SHOT_DIR (screenshots). Prints one JSON line; exits non-zero on any
// failure or any browser console error.
import { chromium } from 'playwright-core';
import path from 'node:path';

const base = process.argv[2];
const { ADMIN_PASSWORD, NEW_PASSWORD, SHOT_DIR } = process.env;
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'];
const desktop = { width: 1366, height: 768 };
const phone = { width: 390, height: 844 };
const out = { ok: false, steps: [], errors: [], screenshots: [] };
const step = (s) => { out.steps.push(s); process.stderr.write('e2e: ' + s + '\n'); };

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
async function api(method, p, body, tok) {
  const r = await fetch(base + p, { method, headers: { 'Content-Type': 'application/json', ...(tok ? { Authorization: 'Bearer ' + tok } : {}) }, body: body ? JSON.stringify(body) : undefined });
  if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${await r.text()}`);
  return r.status === 204 ? null : r.json();
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args });
try {
  // 1. Admin: keyboard-only sign-in with the first password, forced change.
  const ctx = await browser.newContext({ viewport: desktop, locale: 'zh-CN' });
  const page = await ctx.newPage();
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

  // 2. Customer on a phone: join, live position, then the dashboard sees it.
  const cctx = await browser.newContext({ viewport: phone, locale: 'zh-CN', isMobile: true, hasTouch: true });
  const cpage = await cctx.newPage();
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

  // The ended call's record, from the admin's records page.
  await page.goto(base + '/records/' + encodeURIComponent(ticket));
  await page.getByTestId('record-detail').waitFor();
  await page.locator('.ant-descriptions-item-content').filter({ hasText: /^ended$/ }).waitFor();
  await page.getByTestId('timeline').getByText('客户确认风险提示').waitFor();
  step('record detail shows the ended call and the agent\'s marker');
  await both(page, 'record-detail');

  // 6. A second customer joins and leaves.
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
