// Browser test of the reports and administration pages, driven by
// admin_e2e_test.go (TestBrowserAdmin):
//   node e2e/admin.mjs BASEURL
// env: ADMIN_PASSWORD (the generated first password), NEW_PASSWORD,
// SHOT_DIR (screenshots), DL_DIR (the exported workbooks). Prints one JSON
// line; exits non-zero on any failure or any browser console error.
import { chromium } from 'playwright-core';
import path from 'node:path';

const base = process.argv[2];
const { ADMIN_PASSWORD, NEW_PASSWORD, SHOT_DIR, DL_DIR } = process.env;
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];
const desktop = { width: 1366, height: 768 };
const phone = { width: 390, height: 844 };
const out = { ok: false, steps: [], errors: [], screenshots: [], exports: [], agentPassword: '' };
const step = (s) => { out.steps.push(s); process.stderr.write('admin e2e: ' + s + '\n'); };

// The one request the test makes fail on purpose (a template the server
// must refuse): Chromium logs its 400 as a console error; exactly that one
// is expected, any other error fails.
const expected = { url: '/api/v1/tenants/e2e-bank/templates/open', status: 400, left: 0 };
function watch(page, name) {
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    if (expected.left > 0 && m.text().includes('status of ' + expected.status) && (m.location().url || '').includes(expected.url)) { expected.left--; return; }
    out.errors.push(`${name}: console: ${m.text()} (${m.location().url || ''})`);
  });
  page.on('pageerror', (e) => out.errors.push(`${name}: page: ${e.message}`));
}
// unlabelled lists the visible form controls and buttons with no
// accessible name (aria-label, aria-labelledby, a <label>, text, title or
// placeholder): every control must say what it is.
async function unlabelled(page) {
  return page.evaluate(() => {
    const bad = [];
    let n = 0;
    for (const el of document.querySelectorAll('input, textarea, select, button, [role="combobox"], [role="switch"], [role="tab"]')) {
      const r = el.getBoundingClientRect();
      if (!r.width || !r.height || el.type === 'hidden' || getComputedStyle(el).visibility === 'hidden') continue;
      const by = (el.getAttribute('aria-labelledby') || '').split(/\s+/).map((id) => document.getElementById(id)?.textContent || '').join('').trim();
      const lab = el.labels && [...el.labels].map((l) => l.textContent).join('').trim();
      const name = el.getAttribute('aria-label') || by || lab || el.textContent.trim() || el.getAttribute('title') || el.getAttribute('placeholder');
      n++;
      if (!name) bad.push(el.outerHTML.slice(0, 160));
    }
    return { n, bad };
  });
}
async function checkLabels(page, name) {
  const { n, bad } = await unlabelled(page);
  for (const b of bad) out.errors.push(`${name}: control without a label: ${b}`);
  if (n === 0) out.errors.push(`${name}: no controls found to check`);
  out.labelled = (out.labelled || 0) + n - bad.length;
}
async function both(page, name) {
  await checkLabels(page, name);
  for (const [sz, vp] of [['desktop', desktop], ['phone', phone]]) {
    await page.setViewportSize(vp);
    await page.waitForTimeout(300); // let ECharts' ResizeObserver redraw
    const f = path.join(SHOT_DIR, `admin-${name}-${sz}.png`);
    await page.screenshot({ path: f, fullPage: true });
    out.screenshots.push(f);
  }
  await page.setViewportSize(desktop);
}
async function api(method, p, body, tok) {
  const r = await fetch(base + p, { method, headers: { 'Content-Type': 'application/json', ...(tok ? { Authorization: 'Bearer ' + tok } : {}) }, body: body ? JSON.stringify(body) : undefined });
  if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${await r.text()}`);
  return r.status === 204 ? null : r.json();
}
// pick chooses an option in an Ant Design select found by its label.
// The list can open before its options load (the template catalogue is
// fetched when the dialog opens) or close under another pop-up on a
// loaded machine: click again until the option shows.
async function pick(page, label, text, scope = page) {
  const opt = page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden) .ant-select-item-option').filter({ hasText: text }).first();
  for (let i = 0; i < 20; i++) {
    await scope.getByRole('combobox', { name: label }).click({ force: true }); // the selected value overlays the input
    try { await opt.waitFor({ state: 'visible', timeout: 1500 }); break; } catch { /* not open yet: click again */ }
  }
  await opt.click();
}
// colourPixels counts pixels of the first series colour (#1677ff) in a chart.
async function colourPixels(page, testId) {
  return page.evaluate((id) => {
    const c = document.querySelector(`[data-testid="${id}"] canvas`);
    if (!c) return -1;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - 22) < 8 && Math.abs(d[i + 1] - 119) < 8 && Math.abs(d[i + 2] - 255) < 8) n++;
    return n;
  }, testId);
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args });
let page;
try {
  // 1. Keyboard-only sign-in of the first admin, forced password change.
  const ctx = await browser.newContext({ viewport: desktop, locale: 'zh-CN', acceptDownloads: true });
  page = await ctx.newPage();
  watch(page, 'admin');
  await page.goto(base + '/login');
  await page.getByLabel('用户名').waitFor();
  await page.keyboard.type('admin');
  await page.keyboard.press('Tab');
  await page.keyboard.type(ADMIN_PASSWORD);
  await page.keyboard.press('Enter');
  await page.getByTestId('change-form').waitFor();
  await page.getByLabel('新密码（至少10位，含字母和数字）').fill(NEW_PASSWORD);
  await page.getByLabel('确认新密码').fill(NEW_PASSWORD);
  await page.keyboard.press('Enter');
  await page.waitForURL('**/dashboard');
  step('signed in with the keyboard, password changed');

  // 2. The administration menu leads to the tenant tree; a sub-tenant.
  await page.getByTestId('dashboard').waitFor();
  const link = page.getByRole('link', { name: '机构管理' });
  for (let i = 0; i < 10 && !(await link.isVisible()); i++) {
    await page.mouse.move(0, 400);
    await page.getByRole('menuitem', { name: '系统管理' }).hover();
    await page.waitForTimeout(500);
  }
  await link.click();
  await page.waitForURL('**/admin/tenants');
  await page.mouse.move(1300, 740); // away from the menu, so its pop-up closes
  for (let i = 0; i < 50 && (await link.isVisible()); i++) await page.waitForTimeout(100);
  await page.getByTestId('tenant-node-province').waitFor();
  await page.getByTestId('tenant-new').click();
  const dlg = page.getByRole('dialog');
  await dlg.getByLabel('机构编号').fill('e2e-bank');
  await dlg.getByLabel('名称').fill('E2E 银行');
  await page.getByTestId('tenant-create-ok').click();
  await page.getByTestId('tenant-node-e2e-bank').waitFor();
  await page.getByTestId('tenant-node-e2e-bank').click();
  await page.getByTestId('tenant-form').getByLabel('名称').fill('E2E 银行总行');
  await page.getByLabel('开始服务').fill('00:00');
  await page.getByTestId('business-add').click();
  await page.getByRole('textbox', { name: '业务编码' }).fill('open');
  await page.getByRole('textbox', { name: '业务名称' }).fill('开户');
  await page.getByRole('combobox', { name: '产品（回车添加）' }).fill('储蓄卡');
  await page.keyboard.press('Enter');
  await page.getByTestId('tenant-save').click();
  await page.getByText('已保存').first().waitFor();
  await page.getByTestId('tenant-node-e2e-bank').filter({ hasText: 'E2E 银行总行' }).waitFor();
  step('sub-tenant e2e-bank created and renamed through the tenant page');
  await both(page, 'tenants');

  // 3. A queue and a route for the sub-tenant.
  await page.goto(base + '/admin/queues');
  await page.getByTestId('admin-queues').waitFor();
  await pick(page, '机构', 'e2e-bank');
  await page.getByTestId('queue-add').click();
  await page.getByTestId('queues-table').getByRole('textbox', { name: '队列名称' }).fill('e2eq');
  await page.getByTestId('route-add').click();
  await page.getByTestId('routes-table').getByRole('textbox', { name: '办理业务' }).fill('open');
  await pick(page, '目标队列', 'e2eq');
  await page.getByTestId('queues-save').click();
  await page.getByText('已保存').first().waitFor();
  step('queue e2eq and its route saved');
  await both(page, 'queues');

  // 4. A user (an agent of the sub-tenant); the initial password is shown once.
  await page.goto(base + '/admin/users');
  await page.getByTestId('users-table').waitFor();
  await page.getByTestId('user-new').focus();
  await page.keyboard.press('Enter'); // keyboard opens the dialog
  const udlg = page.getByRole('dialog');
  await udlg.getByLabel('用户名').fill('e2e-agent');
  await udlg.getByLabel('显示名称').fill('E2E 坐席');
  await pick(page, '机构', 'e2e-bank', udlg);
  await page.getByTestId('user-create-ok').click();
  const secret = (await page.getByTestId('user-secret').textContent()).trim();
  if (secret.length < 10) throw new Error('no initial password shown: ' + secret);
  out.agentPassword = secret;
  await page.getByRole('dialog').getByRole('button', { name: /OK|确定|确 定/ }).click();
  await page.getByTestId('users-table').getByText('e2e-agent').waitFor();
  await page.getByRole('button', { name: '编辑 e2e-agent' }).click();
  await page.getByRole('dialog').getByLabel('显示名称').fill('E2E 坐席甲');
  await page.getByTestId('user-edit-ok').click();
  await page.getByTestId('users-table').getByText('E2E 坐席甲').waitFor();
  step('user e2e-agent created (initial password shown once) and renamed');
  await both(page, 'users');

  // 5. Agents and skills: give the agent a skill.
  await page.goto(base + '/admin/agents');
  await page.getByTestId('agents-table').getByText('e2e-agent').waitFor();
  await page.getByRole('button', { name: '编辑技能 e2e-agent' }).click();
  await page.getByRole('button', { name: '添加技能' }).click();
  await page.getByRole('dialog').getByRole('textbox', { name: '技能组' }).fill('open');
  await page.getByRole('dialog').getByRole('button', { name: /OK|确定|确 定/ }).click();
  await page.getByTestId('agents-table').getByText('open: 5').waitFor();
  step('agent given skill open: 5');
  await both(page, 'agents');

  // 6. A business template, validated by the server.
  await page.goto(base + '/admin/templates');
  await pick(page, '机构', 'e2e-bank');
  await page.getByTestId('template-new').click();
  const tdlg = page.getByRole('dialog');
  await tdlg.getByRole('combobox', { name: '业务编码' }).fill('open');
  await pick(page, '合成布局', 'side-by-side', tdlg);
  await pick(page, '实时分析', 'light', tdlg);
  await tdlg.getByLabel('水印文字').click(); // closes the multiple select's list
  await tdlg.getByLabel('水印文字').fill('{tenant} 双录');
  await pick(page, '位置', '右上', tdlg);
  await tdlg.getByLabel('质检策略').fill('require:\n  smell: true\n');
  expected.left = 1;
  await page.getByTestId('template-ok').click();
  await page.getByTestId('admin-error').filter({ hasText: 'QC policy' }).waitFor();
  for (let i = 0; i < 50 && expected.left > 0; i++) await page.waitForTimeout(100);
  if (expected.left > 0) throw new Error('the refused template logged no 400');
  step('a template with an unknown QC policy key is refused with the reason');
  await tdlg.getByLabel('质检策略').fill('require:\n  audio: true\n');
  await page.getByTestId('template-ok').click();
  await page.getByTestId('templates-table').getByText('side-by-side').waitFor();
  step('business template saved');
  await both(page, 'templates');

  // 7. The audit viewer shows those actions; the action filter narrows it.
  await page.goto(base + '/admin/audit');
  for (const a of ['tenant.create', 'tenant.update', 'queue.configure', 'user.create', 'user.update', 'user.skills', 'template.put']) {
    await page.getByTestId('audit-table').locator('code').filter({ hasText: new RegExp('^' + a.replace('.', '\\.') + '$') }).first().waitFor();
  }
  step('audit viewer lists tenant.create, tenant.update, queue.configure, user.create, user.update, user.skills, template.put');
  await both(page, 'audit');
  await page.getByTestId('audit-action').fill('user.');
  await page.getByTestId('audit-action').press('Enter');
  await page.waitForFunction(() => {
    const codes = [...document.querySelectorAll('[data-testid="audit-table"] tbody code')].map((c) => c.textContent);
    return codes.length > 0 && codes.every((c) => c.startsWith('user.'));
  });
  step('audit filter by action prefix');

  // 8. Calls for the reports, through the API: the agent answers one
  // customer (rated 5) and another customer gives up waiting.
  const atok = (await api('POST', '/api/v1/auth/login', { username: 'e2e-agent', password: secret })).token;
  await api('POST', '/api/v1/me/password', { old: secret, new: NEW_PASSWORD }, atok);
  const agent = (await api('POST', '/api/v1/auth/login', { username: 'e2e-agent', password: NEW_PASSWORD })).token;
  await api('POST', '/api/v1/agent/sign-in', { queues: ['e2eq'] }, agent);
  await api('PUT', '/api/v1/agent/state', { state: 'idle' }, agent);
  const j1 = await api('POST', '/api/v1/queue/join', { tenant_id: 'e2e-bank', customer_id: 'e2e-c1', channel: 'h5', business: 'open' });
  for (let i = 0; ; i++) {
    try { await api('POST', '/api/v1/agent/answer', { ticket_id: j1.ticket.id }, agent); break; } catch (e) { if (i > 50) throw e; await new Promise((r) => setTimeout(r, 100)); }
  }
  await new Promise((r) => setTimeout(r, 1200));
  await api('POST', '/api/v1/agent/end', { ticket_id: j1.ticket.id }, agent);
  for (let i = 0; ; i++) {
    try { await api('POST', `/api/v1/queue/tickets/${j1.ticket.id}/rating?token=${j1.token}`, { rating: 5 }); break; } catch (e) { if (i > 50) throw e; await new Promise((r) => setTimeout(r, 100)); }
  }
  await api('PUT', '/api/v1/agent/state', { state: 'busy', reason: 'e2e' }, agent);
  const j2 = await api('POST', '/api/v1/queue/join', { tenant_id: 'e2e-bank', customer_id: 'e2e-c2', channel: 'h5', business: 'open' });
  await new Promise((r) => setTimeout(r, 300));
  await api('POST', `/api/v1/queue/tickets/${j2.ticket.id}/leave?token=${j2.token}`);
  await api('PUT', '/api/v1/agent/state', { state: 'idle' }, agent);
  step('one call answered and rated, one abandoned');

  // 9. Each report: chart, table, Excel export saved.
  await page.goto(base + '/reports');
  await page.getByTestId('reports').waitFor();
  page.on('request', (r) => { if (r.url().includes('/xlsx?')) out.lastExportURL = r.url(); });
  for (const kind of ['business', 'agents', 'queues', 'branches', 'concurrency']) {
    await page.getByTestId('rp-tab-' + kind).click();
    await page.getByTestId('rp-table-' + kind).locator('tbody tr.ant-table-row').first().waitFor();
    let px = 0;
    for (let i = 0; i < 50 && px <= 0; i++) { px = await colourPixels(page, 'rp-chart-' + kind); if (px <= 0) await page.waitForTimeout(200); }
    if (px <= 0) throw new Error(kind + ' chart drew no bar');
    // The last export is started from the keyboard.
    const press = kind === 'branches' ? page.getByTestId('rp-export').focus().then(() => page.keyboard.press('Enter')) : page.getByTestId('rp-export').click();
    const [dl] = await Promise.all([page.waitForEvent('download'), press]);
    const file = path.join(DL_DIR, kind + '.xlsx');
    await dl.saveAs(file);
    const u = new URL(out.lastExportURL);
    u.searchParams.delete('lang');
    out.exports.push({ kind, file, name: dl.suggestedFilename(), query: u.searchParams.toString() });
    step(`${kind} report: chart (${px} px), table, Excel saved as ${dl.suggestedFilename()}`);
    await both(page, 'report-' + kind);
  }
  // Business by day: one row per day and business, the day first.
  await page.getByTestId('rp-tab-business').click();
  await page.getByTestId('rp-by').getByText('按天').click();
  await page.getByRole('columnheader', { name: '日期' }).waitFor();
  await page.getByTestId('rp-table-business').locator('tbody tr.ant-table-row').first().waitFor();
  step('business report by day');
  await both(page, 'report-business-by-day');
  // The English switch relabels the table.
  await page.getByTestId('lang').click();
  await page.getByRole('columnheader', { name: 'Day' }).waitFor();
  await page.getByTestId('lang').click();
  step(`English headers; ${out.labelled} visible controls checked for labels`);
  await ctx.close();
  out.ok = out.errors.length === 0;
} catch (e) {
  out.errors.push('failed: ' + (e && e.stack || e));
  // Where it stopped, for the person reading the failure (not a result).
  if (page) await page.screenshot({ path: path.join(SHOT_DIR, 'admin-failure.png'), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(out.ok ? 0 : 1);
