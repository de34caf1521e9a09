import { useCallback, useEffect, useState } from 'react';
import { Alert, Button, Card, DatePicker, Input, Space, Table, Tag } from 'antd';
import type { Dayjs } from 'dayjs';
import { api } from '../../api';
import { useT } from '../../i18n';
import { TenantSelect, useTenants } from './common';

type Entry = { seq: number; at: string; tenant_id: string; actor: string; role: string; action: string; target: string; before: any; after: any; result: string };
const pageSize = 20;

// The audit log viewer: newest first, filters (action prefix, actor,
// tenant, period), paged by sequence number; each row expands to the
// state before and after.
export default function Audit() {
  const t = useT();
  const { tenants } = useTenants();
  const [f, setF] = useState({ action: '', actor: '', tenant: '', range: null as [Dayjs, Dayjs] | null });
  const [applied, setApplied] = useState(f);
  const [cursors, setCursors] = useState<number[]>([0]); // "before" of each page shown so far
  const [rows, setRows] = useState<Entry[]>([]);
  const [next, setNext] = useState(0);
  const [err, setErr] = useState('');
  const [loading, setLoading] = useState(false);
  const before = cursors[cursors.length - 1];
  const load = useCallback(() => {
    const q = new URLSearchParams({ limit: String(pageSize), order: 'desc' });
    if (before) q.set('before', String(before));
    if (applied.action) q.set('action', applied.action);
    if (applied.actor) q.set('actor', applied.actor);
    if (applied.tenant) q.set('tenant', applied.tenant);
    if (applied.range) { q.set('from', applied.range[0].startOf('day').toISOString()); q.set('to', applied.range[1].add(1, 'day').startOf('day').toISOString()); }
    setLoading(true);
    api('GET', '/api/v1/audit?' + q).then((r) => { setRows(r.entries); setNext(r.next_before || 0); setErr(''); }).catch((e) => setErr(e.message)).finally(() => setLoading(false));
  }, [before, applied]);
  useEffect(() => { load(); }, [load]);
  const search = () => { setApplied(f); setCursors([0]); };
  return (
    <Card title={t('adAudit')} data-testid="admin-audit">
      {err && <Alert type="error" showIcon message={err} style={{ marginBottom: 16 }} data-testid="admin-error" />}
      <Space wrap style={{ marginBottom: 16 }}>
        <Input aria-label={t('adAction')} placeholder={t('adActionPrefix')} value={f.action} onChange={(e) => setF({ ...f, action: e.target.value })} onPressEnter={search} style={{ width: 180 }} data-testid="audit-action" />
        <Input aria-label={t('adActor')} placeholder={t('adActor')} value={f.actor} onChange={(e) => setF({ ...f, actor: e.target.value })} onPressEnter={search} style={{ width: 160 }} />
        <TenantSelect tenants={tenants} value={f.tenant} onChange={(v) => setF({ ...f, tenant: v })} label={t('tenant')} allowClear />
        <DatePicker.RangePicker aria-label={t('dates')} value={f.range} onChange={(r) => setF({ ...f, range: r as any })} />
        <Button type="primary" onClick={search} data-testid="audit-search">{t('search')}</Button>
      </Space>
      <Table rowKey="seq" size="small" loading={loading} dataSource={rows} pagination={false} scroll={{ x: 'max-content' }} data-testid="audit-table"
        expandable={{ expandedRowRender: (e: Entry) => <pre style={{ margin: 0, whiteSpace: 'pre-wrap', fontSize: 12 }}>{t('adBefore')}: {JSON.stringify(e.before, null, 1)}{'\n'}{t('adAfter')}: {JSON.stringify(e.after, null, 1)}</pre> }}
        columns={[
          { title: '#', dataIndex: 'seq' },
          { title: t('adTime'), dataIndex: 'at', render: (v: string) => new Date(v).toLocaleString() },
          { title: t('tenant'), dataIndex: 'tenant_id' },
          { title: t('adActor'), dataIndex: 'actor' },
          { title: t('adRole'), dataIndex: 'role', render: (v: string) => (v ? t('ad_role_' + v) : '') },
          { title: t('adAction'), dataIndex: 'action', render: (v: string) => <code>{v}</code> },
          { title: t('adTarget'), dataIndex: 'target' },
          { title: t('adResult'), dataIndex: 'result', render: (v: string) => <Tag color={v === 'ok' ? 'green' : 'red'}>{v}</Tag> },
        ]} />
      <Space style={{ marginTop: 12 }}>
        <Button disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))} aria-label={t('adNewer')}>{t('adNewer')}</Button>
        <Button disabled={!next} onClick={() => setCursors([...cursors, next])} aria-label={t('adOlder')} data-testid="audit-older">{t('adOlder')}</Button>
        <span style={{ color: '#888' }}>{t('adPage')} {cursors.length}</span>
      </Space>
    </Card>
  );
}
