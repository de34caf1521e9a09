import { useEffect, useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { Alert, Button, Card, DatePicker, Form, Input, Select, Space, Table, Tag } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { api } from '../api';
import { useT } from '../i18n';
import { useMe } from '../me';

type Rec = { id: string; tenant_id: string; business: string; channel: string; agent_id: string; customer_id: string; status: string; queued_at: string; wait_ms: number; talk_ms: number; qc_verdict: string };
type Tenant = { id: string; parent_id: string; name: string; level: string };
type User = { id: string; username: string; display_name: string; tenant_id: string };

const statuses = ['queued', 'ringing', 'in_call', 'ended', 'abandoned', 'timeout'];
const channels = ['app', 'h5', 'mini', 'pc'];
const verdicts = ['pass', 'warn', 'fail', 'none'];
export const qcColor = (v: string) => (v === 'pass' ? 'green' : v === 'warn' ? 'orange' : v === 'fail' ? 'red' : 'default');

type Filters = { within?: string; tenant?: string; agent?: string; business?: string; channel?: string; status?: string; qc?: string; range?: [Dayjs, Dayjs] | null };
const keys = ['within', 'tenant', 'agent', 'business', 'channel', 'status', 'qc'] as const;

// Service records (recordings) with the API's filters, kept in the URL:
// tenant with its branches (within), one branch (tenant), agent, business,
// channel, status, QC verdict, dates.
export default function Records() {
  const t = useT();
  const me = useMe();
  const [sp, setSp] = useSearchParams();
  const [rows, setRows] = useState<Rec[]>([]);
  const [err, setErr] = useState('');
  const [loading, setLoading] = useState(false);
  const [tick, setTick] = useState(0); // a search with unchanged filters reloads
  const [tenants, setTenants] = useState<Tenant[]>([]);
  const [agents, setAgents] = useState<User[]>([]);
  const [form] = Form.useForm<Filters>();
  const within = Form.useWatch('within', form);
  // Only roles allowed to list tenants / users ask (a refused call would be
  // a console error); the others filter by typed ids.
  const canTenants = ['province_admin', 'tenant_admin', 'supervisor'].includes(me?.role || '');
  const canUsers = ['province_admin', 'tenant_admin'].includes(me?.role || '');
  const isAgent = me?.role === 'agent';

  useEffect(() => {
    if (canTenants) api('GET', '/api/v1/tenants').then((r) => setTenants(r.tenants || [])).catch(() => setTenants([]));
    if (canUsers) api('GET', '/api/v1/users?role=agent').then((r) => setAgents(r.users || [])).catch(() => setAgents([]));
  }, [canTenants, canUsers]);
  useEffect(() => {
    setLoading(true);
    const q = new URLSearchParams(sp); q.set('limit', '500');
    api('GET', '/api/v1/records?' + q.toString()).then((r) => { setRows(r.records); setErr(''); }).catch((e) => setErr(e.message)).finally(() => setLoading(false));
  }, [sp, tick]);
  useEffect(() => {
    const v: Filters = {};
    for (const k of keys) v[k] = sp.get(k) || undefined;
    const f = sp.get('from'), to = sp.get('to');
    v.range = f && to ? [dayjs(f), dayjs(to)] : undefined;
    form.resetFields();
    form.setFieldsValue(v as any);
  }, [sp, form]);

  // Descendants of the chosen tenant (its branches), or every branch.
  const branches = useMemo(() => {
    if (!within) return tenants.filter((x) => x.level === 'branch');
    const under = new Set([within]);
    let grew = true;
    while (grew) { grew = false; for (const x of tenants) if (under.has(x.parent_id) && !under.has(x.id)) { under.add(x.id); grew = true; } }
    return tenants.filter((x) => x.id !== within && under.has(x.id));
  }, [tenants, within]);

  const search = (v: Filters) => {
    const q = new URLSearchParams();
    for (const k of keys) if (v[k]) q.set(k, v[k]!.trim());
    if (v.range) { q.set('from', v.range[0].startOf('day').toISOString()); q.set('to', v.range[1].endOf('day').toISOString()); }
    setSp(q);
    setTick((n) => n + 1);
  };
  const tname = (id: string) => tenants.find((x) => x.id === id)?.name || id;
  const aname = (id: string) => { const u = agents.find((x) => x.id === id); return u ? (u.display_name || u.username) : id; };
  return (
    <Card title={t('records')} data-testid="records">
      {err && <Alert type="error" showIcon message={err} style={{ marginBottom: 16 }} role="alert" />}
      <Form form={form} layout="inline" onFinish={search} style={{ marginBottom: 16, rowGap: 8 }} data-testid="records-filters">
        {canTenants && (
          <Form.Item label={t('recFilterTenant')} name="within">
            <Select allowClear showSearch optionFilterProp="label" style={{ width: 180, maxWidth: 'calc(100vw - 230px)' }} aria-label={t('recFilterTenant')}
              onChange={() => form.setFieldValue('tenant', undefined)}
              options={tenants.filter((x) => x.level !== 'branch').map((x) => ({ value: x.id, label: x.name || x.id }))} />
          </Form.Item>
        )}
        {canTenants ? (
          <Form.Item label={t('recFilterBranch')} name="tenant">
            <Select allowClear showSearch optionFilterProp="label" style={{ width: 160 }} aria-label={t('recFilterBranch')}
              options={branches.map((x) => ({ value: x.id, label: x.name || x.id }))} />
          </Form.Item>
        ) : !isAgent && (
          <Form.Item label={t('tenant')} name="tenant"><Input style={{ width: 120 }} aria-label={t('tenant')} /></Form.Item>
        )}
        {!isAgent && (canUsers ? (
          <Form.Item label={t('agent')} name="agent">
            <Select allowClear showSearch optionFilterProp="label" style={{ width: 150 }} aria-label={t('agent')}
              options={agents.map((u) => ({ value: u.id, label: u.display_name || u.username }))} />
          </Form.Item>
        ) : (
          <Form.Item label={t('agent')} name="agent"><Input style={{ width: 120 }} aria-label={t('agent')} /></Form.Item>
        ))}
        <Form.Item label={t('business')} name="business"><Input style={{ width: 120 }} aria-label={t('business')} /></Form.Item>
        <Form.Item label={t('channel')} name="channel"><Select allowClear style={{ width: 100 }} aria-label={t('channel')} options={channels.map((c) => ({ value: c, label: c }))} /></Form.Item>
        <Form.Item label={t('status')} name="status"><Select allowClear style={{ width: 120 }} aria-label={t('status')} options={statuses.map((c) => ({ value: c, label: c }))} /></Form.Item>
        <Form.Item label={t('recFilterQC')} name="qc">
          <Select allowClear style={{ width: 120 }} aria-label={t('recFilterQC')}
            options={verdicts.map((v) => ({ value: v, label: v === 'none' ? t('recQCNone') : t('recQC' + v) }))} />
        </Form.Item>
        <Form.Item label={t('dates')} name="range"><DatePicker.RangePicker style={{ width: 240 }} aria-label={t('dates')} /></Form.Item>
        <Space>
          <Button type="primary" htmlType="submit">{t('search')}</Button>
          <Button onClick={() => setSp(new URLSearchParams())}>{t('recReset')}</Button>
        </Space>
      </Form>
      <Table rowKey="id" size="small" loading={loading} dataSource={rows} scroll={{ x: 1000 }} pagination={{ pageSize: 20 }} data-testid="records-table"
        columns={[
          { title: t('id'), dataIndex: 'id', render: (id: string) => <Link to={'/records/' + encodeURIComponent(id)}>{id}</Link> },
          { title: t('queuedAt'), dataIndex: 'queued_at', render: (v: string) => new Date(v).toLocaleString() },
          { title: t('tenant'), dataIndex: 'tenant_id', render: tname },
          { title: t('business'), dataIndex: 'business' },
          { title: t('channel'), dataIndex: 'channel' },
          { title: t('agent'), dataIndex: 'agent_id', render: aname },
          { title: t('customerId'), dataIndex: 'customer_id' },
          { title: t('status'), dataIndex: 'status' },
          { title: t('wait'), dataIndex: 'wait_ms', render: (v: number) => (v / 1000).toFixed(0) },
          { title: t('talk'), dataIndex: 'talk_ms', render: (v: number) => (v / 1000).toFixed(0) },
          { title: t('qc'), dataIndex: 'qc_verdict', render: (v: string) => (v ? <Tag color={qcColor(v)} data-testid="qc-verdict" data-verdict={v}>{t('recQC' + v)}</Tag> : '-') },
        ]} />
    </Card>
  );
}
