import { lazy, Suspense, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter, Navigate, Route, Routes, useLocation, useNavigate, Link } from 'react-router-dom';
import { ConfigProvider, Layout, Menu, Button, Space, Spin, Typography, Result } from 'antd';
import { Me, MeContext, canDesk, canWallboard, home } from './me';
import zhCN from 'antd/locale/zh_CN';
import enUS from 'antd/locale/en_US';
import { Lang, LangContext, useT } from './i18n';
import { token, setToken, api } from './api';
import Login from './pages/Login';
import Customer from './pages/Customer';

// Pages behind sign-in load on demand (ECharts only with the dashboard).
const Dashboard = lazy(() => import('./pages/Dashboard'));
const Desk = lazy(() => import('./pages/Desk'));
const Monitor = lazy(() => import('./pages/Monitor')); // live monitor (desk area)
const Records = lazy(() => import('./pages/Records'));
const RecordDetail = lazy(() => import('./pages/RecordDetail'));
// Reports and administration (docs/web.md "Reports", "Administration").
import { canAdmin, canAudit, canReports } from './adminRoles';
const Reports = lazy(() => import('./pages/Reports'));
const adminPages: Record<string, React.LazyExoticComponent<() => JSX.Element>> = {
  tenants: lazy(() => import('./pages/admin/Tenants')), queues: lazy(() => import('./pages/admin/Queues')),
  agents: lazy(() => import('./pages/admin/Agents')), users: lazy(() => import('./pages/admin/Users')),
  templates: lazy(() => import('./pages/admin/Templates')), audit: lazy(() => import('./pages/admin/Audit')),
};
const adminKeys: Record<string, string> = { tenants: 'adTenants', queues: 'adQueues', agents: 'adAgents', users: 'adUsers', templates: 'adTemplates', audit: 'adAudit' };
const canAdminPage = (page: string) => (page === 'audit' ? canAudit : canAdmin);

function LangSwitch() {
  const t = useT();
  return (
    <LangContext.Consumer>
      {({ lang, setLang }) => (
        <Button size="small" aria-label="language" onClick={() => setLang(lang === 'zh' ? 'en' : 'zh')} data-testid="lang">{t('language')}</Button>
      )}
    </LangContext.Consumer>
  );
}

function Shell({ children, need }: { children: React.ReactNode; need?: (role?: string) => boolean }) {
  const t = useT();
  const nav = useNavigate();
  const loc = useLocation();
  const [me, setMe] = useState<Me | null>(null);
  const tok = token();
  useEffect(() => {
    if (!tok) return;
    api('GET', '/api/v1/me').then((r) => setMe(r.user)).catch(() => { setToken(''); nav('/login', { replace: true }); });
  }, [tok, nav]);
  if (!tok) return <Navigate to="/login" replace state={{ from: loc.pathname + loc.search }} />;
  if (!me) return <Spin style={{ display: 'block', marginTop: 120 }} />;
  const key = '/' + loc.pathname.split('/')[1];
  const items = [
    canWallboard(me.role) && { key: '/dashboard', label: <Link to="/dashboard">{t('dashboard')}</Link> },
    canDesk(me.role) && { key: '/desk', label: <Link to="/desk">{t('desk')}</Link> },
    canWallboard(me.role) && { key: '/monitor', label: <Link to="/monitor">{t('monitorPage')}</Link> },
    { key: '/records', label: <Link to="/records">{t('records')}</Link> },
    canReports(me.role) && { key: '/reports', label: <Link to="/reports">{t('reports')}</Link> },
    canAudit(me.role) && { key: '/admin', label: t('admin'), children: Object.keys(adminPages).filter((p) => canAdminPage(p)(me.role))
      .map((p) => ({ key: '/admin/' + p, label: <Link to={'/admin/' + p}>{t(adminKeys[p])}</Link> })) },
  ].filter(Boolean) as { key: string; label: React.ReactNode }[];
  return (
    <MeContext.Provider value={me}>
      <Layout style={{ minHeight: '100vh' }}>
        <Layout.Header style={{ display: 'flex', alignItems: 'center', gap: 16, padding: '0 16px' }}>
          <Typography.Text strong style={{ color: '#fff', whiteSpace: 'nowrap' }}>{t('appName')}</Typography.Text>
          <Menu theme="dark" mode="horizontal" selectedKeys={[key, loc.pathname]} style={{ flex: 1, minWidth: 0 }} items={items} />
          <Space>
            <Typography.Text style={{ color: '#fff' }}>{me.username}</Typography.Text>
            <LangSwitch />
            <Button size="small" onClick={async () => { try { await api('POST', '/api/v1/auth/logout'); } catch { /* gone anyway */ } setToken(''); nav('/login'); }}>{t('logout')}</Button>
          </Space>
        </Layout.Header>
        <Layout.Content style={{ padding: 16 }}>
          {need && !need(me.role) ? <Result status="403" title={t('noAccess')} extra={<Link to={home(me.role)}>{t('back')}</Link>} />
            : <Suspense fallback={<Spin style={{ display: 'block', marginTop: 80 }} />}>{children}</Suspense>}
        </Layout.Content>
      </Layout>
    </MeContext.Provider>
  );
}

function Home() {
  const [role, setRole] = useState<string | null>(null);
  useEffect(() => { if (token()) api('GET', '/api/v1/me').then((r) => setRole(r.user.role)).catch(() => setRole('')); }, []);
  if (!token()) return <Navigate to="/login" replace />;
  if (role === null) return <Spin style={{ display: 'block', marginTop: 120 }} />;
  return <Navigate to={role ? home(role) : '/login'} replace />;
}

function App() {
  const [lang, setLangState] = useState<Lang>((localStorage.getItem('witness.lang') as Lang) || 'zh');
  const setLang = (l: Lang) => { localStorage.setItem('witness.lang', l); document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en'; setLangState(l); };
  return (
    <LangContext.Provider value={{ lang, setLang }}>
      <ConfigProvider locale={lang === 'zh' ? zhCN : enUS} button={{ autoInsertSpace: false }}>
        <BrowserRouter>
          <Routes>
            <Route path="/login" element={<Login extra={<LangSwitch />} />} />
            <Route path="/h5" element={<Customer extra={<LangSwitch />} />} />
            <Route path="/dashboard" element={<Shell need={canWallboard}><Dashboard /></Shell>} />
            <Route path="/desk" element={<Shell need={canDesk}><Desk /></Shell>} />
            <Route path="/monitor" element={<Shell need={canWallboard}><Monitor /></Shell>} />
            <Route path="/records" element={<Shell><Records /></Shell>} />
            <Route path="/records/:id" element={<Shell><RecordDetail /></Shell>} />
            <Route path="/reports" element={<Shell need={canReports}><Reports /></Shell>} />
            {Object.entries(adminPages).map(([p, Page]) => <Route key={p} path={'/admin/' + p} element={<Shell need={canAdminPage(p)}><Page /></Shell>} />)}
            <Route path="*" element={<Home />} />
          </Routes>
        </BrowserRouter>
      </ConfigProvider>
    </LangContext.Provider>
  );
}

createRoot(document.getElementById('root')!).render(<App />);
