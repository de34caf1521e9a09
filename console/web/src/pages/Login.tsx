import { useState } from 'react';
import { useLocation, useNavigate } from 'react-router-dom';
import { Alert, Button, Card, Form, Input, Space, Typography } from 'antd';
import { api, setToken } from '../api';
import { useT } from '../i18n';
import { home } from '../me';

// Sign-in; a first sign-in (must_change_password) must set a new password
// before anything else is allowed.
export default function Login({ extra }: { extra: React.ReactNode }) {
  const t = useT();
  const nav = useNavigate();
  const loc = useLocation();
  const [err, setErr] = useState('');
  const [busy, setBusy] = useState(false);
  const [change, setChange] = useState<{ token: string; old: string; role: string } | null>(null);
  const from: string | undefined = (loc.state as any)?.from;
  const dest = (role: string) => (from && from !== '/' ? from : home(role));

  const login = async (v: { username: string; password: string; totp?: string }) => {
    setBusy(true); setErr('');
    try {
      const r = await api('POST', '/api/v1/auth/login', { username: v.username, password: v.password, totp: v.totp || undefined }, '');
      if (r.must_change_password) setChange({ token: r.token, old: v.password, role: r.user.role });
      else { setToken(r.token); nav(dest(r.user.role), { replace: true }); }
    } catch (e: any) { setErr(t('loginFailed') + ': ' + e.message); }
    setBusy(false);
  };
  const changePw = async (v: { password: string }) => {
    setBusy(true); setErr('');
    try {
      await api('POST', '/api/v1/me/password', { old: change!.old, new: v.password }, change!.token);
      setToken(change!.token);
      nav(dest(change!.role), { replace: true });
    } catch (e: any) { setErr(e.message); }
    setBusy(false);
  };

  return (
    <main style={{ minHeight: '100vh', display: 'flex', alignItems: 'center', justifyContent: 'center', background: '#f0f2f5', padding: 16 }}>
      <Card style={{ width: 380, maxWidth: '100%' }} title={<Typography.Title level={1} style={{ fontSize: 20, margin: 0 }}>{t('appName')}</Typography.Title>} extra={extra}>
        {err && <Alert type="error" showIcon message={err} style={{ marginBottom: 16 }} role="alert" />}
        {!change ? (
          <Form layout="vertical" onFinish={login} data-testid="login-form" requiredMark={false}>
            <Form.Item label={t('username')} name="username" rules={[{ required: true, message: t('required') }]}>
              <Input autoFocus autoComplete="username" />
            </Form.Item>
            <Form.Item label={t('password')} name="password" rules={[{ required: true, message: t('required') }]}>
              <Input.Password autoComplete="current-password" />
            </Form.Item>
            <Form.Item label={t('totp')} name="totp">
              <Input inputMode="numeric" autoComplete="one-time-code" />
            </Form.Item>
            <Button type="primary" htmlType="submit" block loading={busy}>{t('login')}</Button>
          </Form>
        ) : (
          <Form layout="vertical" onFinish={changePw} data-testid="change-form" requiredMark={false}>
            <Alert type="warning" message={t('mustChange')} style={{ marginBottom: 16 }} />
            <Form.Item label={t('newPassword')} name="password" rules={[{ required: true, message: t('required') }]}>
              <Input.Password autoFocus autoComplete="new-password" />
            </Form.Item>
            <Form.Item label={t('confirmPassword')} name="confirm" dependencies={['password']}
              rules={[{ required: true, message: t('required') }, ({ getFieldValue }) => ({ validator: (_, v) => (v === getFieldValue('password') ? Promise.resolve() : Promise.reject(new Error(t('mismatch')))) })]}>
              <Input.Password autoComplete="new-password" />
            </Form.Item>
            <Space direction="vertical" style={{ width: '100%' }}>
              <Button type="primary" htmlType="submit" block loading={busy}>{t('changePassword')}</Button>
            </Space>
          </Form>
        )}
      </Card>
    </main>
  );
}
