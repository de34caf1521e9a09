import { useState } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter, Navigate, Route, Routes, useLocation, useNavigate, Link } from 'react-router-dom';
import { ConfigProvider, Layout, Menu, Button, Space, Typography } from 'antd';
import zhCN from 'antd/locale/zh_CN';
import enUS from 'antd/locale/en_US';
import { Lang, LangContext, useT } from './i18n';
import { token, setToken, api } from './api';
import Login from './pages/Login';
import Dashboard from './pages/Dashboard';
import Customer from './pages/Customer';
import Desk from './pages/Desk';
import Records from './pages/Records';
import RecordDetail from './pages/RecordDetail';

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

function Shell({ children }: { children: React.ReactNode }) {
  const t = useT();
  const nav = useNavigate();
  const loc = useLocation();
  if (!token()) return <Navigate to="/login" replace state={{ from: loc.pathname }} />;
  const key = '/' + loc.pathname.split('/')[1];
  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Layout.Header style={{ display: 'flex', alignItems: 'center', gap: 16, padding: '0 16px' }}>
        <Typography.Text strong style={{ color: '#fff', whiteSpace: 'nowrap' }}>{t('appName')}</Typography.Text>
        <Menu theme="dark" mode="horizontal" selectedKeys={[key]} style={{ flex: 1, minWidth: 0 }}
          items={[
            { key: '/dashboard', label: <Link to="/dashboard">{t('dashboard')}</Link> },
            { key: '/desk', label: <Link to="/desk">{t('desk')}</Link> },
            { key: '/records', label: <Link to="/records">{t('records')}</Link> },
          ]} />
        <Space>
          <LangSwitch />
          <Button size="small" onClick={async () => { try { await api('POST', '/api/v1/auth/logout'); } catch { /* gone anyway */ } setToken(''); nav('/login'); }}>{t('logout')}</Button>
        </Space>
      </Layout.Header>
      <Layout.Content style={{ padding: 16 }}>{children}</Layout.Content>
    </Layout>
  );
}

function App() {
  const [lang, setLangState] = useState<Lang>((localStorage.getItem('witness.lang') as Lang) || 'zh');
  const setLang = (l: Lang) => { localStorage.setItem('witness.lang', l); document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en'; setLangState(l); };
  return (
    <LangContext.Provider value={{ lang, setLang }}>
      <ConfigProvider locale={lang === 'zh' ? zhCN : enUS}>
        <BrowserRouter>
          <Routes>
            <Route path="/login" element={<Login extra={<LangSwitch />} />} />
            <Route path="/h5" element={<Customer extra={<LangSwitch />} />} />
            <Route path="/dashboard" element={<Shell><Dashboard /></Shell>} />
            <Route path="/desk" element={<Shell><Desk /></Shell>} />
            <Route path="/records" element={<Shell><Records /></Shell>} />
            <Route path="/records/:id" element={<Shell><RecordDetail /></Shell>} />
            <Route path="*" element={<Navigate to="/dashboard" replace />} />
          </Routes>
        </BrowserRouter>
      </ConfigProvider>
    </LangContext.Provider>
  );
}

createRoot(document.getElementById('root')!).render(<App />);
