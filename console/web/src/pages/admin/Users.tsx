import { useCallback, useEffect, useState } from 'react';
import { Alert, Button, Card, Form, Input, Modal, Popconfirm, Select, Space, Table, Tag, Typography } from 'antd';
import { api } from '../../api';
import { useT } from '../../i18n';
import { useMe } from '../../me';
import { grantable } from '../../adminRoles';
import { TenantSelect, useTenants } from './common';

export type User = { id: string; tenant_id: string; username: string; display_name: string; role: string; frozen: boolean; must_change: boolean; failed_logins: number; skills?: Record<string, number> };

// Users and roles: list in scope (filters), create (the initial password
// is shown once), freeze / unfreeze, reset password (the temporary one is
// shown once).
export default function Users() {
  const t = useT();
  const me = useMe();
  const { tenants } = useTenants();
  const [users, setUsers] = useState<User[]>([]);
  const [tenant, setTenant] = useState('');
  const [role, setRole] = useState('');
  const [err, setErr] = useState('');
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<{ user: string; pw: string } | null>(null);
  const [editing, setEditing] = useState<User | null>(null);
  const [form] = Form.useForm();
  const [eform] = Form.useForm();
  const load = useCallback(() => {
    const q = new URLSearchParams();
    if (tenant) q.set('tenant', tenant);
    if (role) q.set('role', role);
    api('GET', '/api/v1/users?' + q).then((r) => { setUsers(r.users); setErr(''); }).catch((e) => setErr(e.message));
  }, [tenant, role]);
  useEffect(() => { load(); }, [load]);
  const act = async (u: User, what: string) => {
    try {
      const r = await api('POST', `/api/v1/users/${encodeURIComponent(u.id)}/${what}`);
      if (what === 'reset-password') setSecret({ user: u.username, pw: r.temporary_password });
      setErr(''); load();
    } catch (e: any) { setErr(e.message); }
  };
  const create = async () => {
    const v = await form.validateFields();
    try {
      const r = await api('POST', '/api/v1/users', { username: v.username, display_name: v.display_name || '', role: v.role, tenant_id: v.tenant_id });
      setCreating(false); form.resetFields(); setSecret({ user: v.username, pw: r.initial_password }); setErr(''); load();
    } catch (e: any) { setErr(e.message); }
  };
  const saveEdit = async () => {
    const v = await eform.validateFields();
    try { await api('PUT', `/api/v1/users/${encodeURIComponent(editing!.id)}`, { display_name: v.display_name || '', role: v.role }); setEditing(null); setErr(''); load(); } catch (e: any) { setErr(e.message); }
  };
  const roles = grantable(me?.role);
  const tname = (id: string) => tenants.find((x) => x.id === id)?.name || id;
  return (
    <Card title={t('adUsers')} data-testid="admin-users"
      extra={<Button type="primary" onClick={() => { form.setFieldsValue({ tenant_id: tenant || me?.tenant_id, role: 'agent' }); setCreating(true); }} data-testid="user-new">{t('adNewUser')}</Button>}>
      {err && <Alert type="error" showIcon message={err} style={{ marginBottom: 16 }} data-testid="admin-error" />}
      <Space wrap style={{ marginBottom: 16 }}>
        <TenantSelect tenants={tenants} value={tenant} onChange={setTenant} label={t('tenant')} allowClear />
        <Select aria-label={t('adRole')} placeholder={t('adRole')} allowClear style={{ width: 160 }} value={role || undefined} onChange={(v) => setRole(v || '')}
          options={['province_admin', 'tenant_admin', 'supervisor', 'agent', 'auditor', 'ops'].map((r) => ({ value: r, label: t('ad_role_' + r) }))} />
      </Space>
      <Table rowKey="id" size="small" dataSource={users} scroll={{ x: 'max-content' }} pagination={{ pageSize: 20, hideOnSinglePage: true }} data-testid="users-table"
        columns={[
          { title: t('username'), dataIndex: 'username' },
          { title: t('adDisplayName'), dataIndex: 'display_name' },
          { title: t('tenant'), dataIndex: 'tenant_id', render: (v: string) => tname(v) },
          { title: t('adRole'), dataIndex: 'role', render: (v: string) => t('ad_role_' + v) },
          { title: t('status'), render: (_, u: User) => <Space size={4}>{u.frozen ? <Tag color="red">{t('adFrozen')}</Tag> : <Tag color="green">{t('adActive')}</Tag>}{u.must_change && <Tag>{t('adMustChange')}</Tag>}</Space> },
          { title: t('adActions'), render: (_, u: User) => u.id === me?.id || !roles.includes(u.role) ? null : (
            <Space size={4}>
              <Button size="small" onClick={() => { eform.setFieldsValue({ display_name: u.display_name, role: u.role }); setEditing(u); }} aria-label={t('adEdit') + ' ' + u.username}>{t('adEdit')}</Button>
              {u.frozen ? <Button size="small" onClick={() => act(u, 'unfreeze')} aria-label={t('adUnfreeze') + ' ' + u.username}>{t('adUnfreeze')}</Button>
                : <Popconfirm title={t('adFreezeConfirm')} onConfirm={() => act(u, 'freeze')}><Button size="small" danger aria-label={t('adFreeze') + ' ' + u.username}>{t('adFreeze')}</Button></Popconfirm>}
              <Popconfirm title={t('adResetConfirm')} onConfirm={() => act(u, 'reset-password')}><Button size="small" aria-label={t('adResetPw') + ' ' + u.username}>{t('adResetPw')}</Button></Popconfirm>
            </Space>) },
        ]} />
      <Modal open={creating} title={t('adNewUser')} onOk={create} onCancel={() => setCreating(false)} okText={t('adCreate')} okButtonProps={{ 'data-testid': 'user-create-ok' } as any}>
        <Form form={form} name="user" layout="vertical">
          <Form.Item label={t('username')} name="username" rules={[{ required: true, message: t('required') }, { pattern: /^[A-Za-z0-9_.@-]{2,64}$/, message: t('adIdRule') }]}><Input /></Form.Item>
          <Form.Item label={t('adDisplayName')} name="display_name"><Input /></Form.Item>
          <Form.Item label={t('adRole')} name="role" rules={[{ required: true, message: t('required') }]}><Select aria-label={t('adRole')} options={roles.map((r) => ({ value: r, label: t('ad_role_' + r) }))} /></Form.Item>
          <Form.Item label={t('tenant')} name="tenant_id" rules={[{ required: true, message: t('required') }]}>
            <Select aria-label={t('tenant')} showSearch optionFilterProp="label" options={tenants.map((x) => ({ value: x.id, label: `${x.name} (${x.id})` }))} />
          </Form.Item>
        </Form>
      </Modal>
      <Modal open={!!editing} title={t('adEdit') + ' — ' + (editing?.username || '')} onOk={saveEdit} onCancel={() => setEditing(null)} okButtonProps={{ 'data-testid': 'user-edit-ok' } as any}>
        <Form form={eform} name="useredit" layout="vertical">
          <Form.Item label={t('adDisplayName')} name="display_name"><Input /></Form.Item>
          <Form.Item label={t('adRole')} name="role" rules={[{ required: true, message: t('required') }]}><Select aria-label={t('adRole')} options={roles.map((r) => ({ value: r, label: t('ad_role_' + r) }))} /></Form.Item>
        </Form>
      </Modal>
      <Modal open={!!secret} title={t('adPasswordOnce')} onOk={() => setSecret(null)} onCancel={() => setSecret(null)} cancelButtonProps={{ style: { display: 'none' } }}>
        <p>{t('username')}: <b>{secret?.user}</b></p>
        <Typography.Paragraph copyable={{ text: secret?.pw }}><code data-testid="user-secret">{secret?.pw}</code></Typography.Paragraph>
        <p style={{ color: '#888' }}>{t('adPasswordNote')}</p>
      </Modal>
    </Card>
  );
}
