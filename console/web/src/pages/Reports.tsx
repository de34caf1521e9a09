import { useCallback, useEffect, useMemo, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { Alert, Button, Card, DatePicker, Segmented, Space, Table, Tabs, message } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { api } from '../api';
import { useT } from '../i18n';
import Bars from '../ReportChart';
import { TenantSelect, download, useLang, useTenants } from './admin/common';

type Column = { key: string; zh: string; en: string };
type Report = { kind: string; columns: Column[]; rows: Record<string, any>[] };

const kinds = ['business', 'agents', 'queues', 'branches', 'concurrency'] as const;
// What each report charts: the label column and the series columns.
const charts: Record<string, { label: string[]; series: string[] }> = {
  business: { label: ['day', 'business', 'channel'], series: ['calls', 'answered', 'abandoned', 'missed'] },
  agents: { label: ['name'], series: ['calls', 'rated', 'rating_5'] },
  queues: { label: ['day', 'tenant_id', 'queue'], series: ['offered', 'answered', 'abandoned', 'timeout'] },
  branches: { label: ['name'], series: ['calls', 'answered', 'missed'] },
  concurrency: { label: ['name'], series: ['peak', 'tree_peak'] },
};
const byDayKinds = ['business', 'queues'];
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;

// Reports (§4.3.3): business, agent KPI, queue and branch reports for a
// period and a tenant (with its sub-tenants), each charted, tabled and
// exportable to Excel. The period and tenant live in the URL.
export default function Reports() {
  const t = useT();
  const lang = useLang();
  const [sp, setSp] = useSearchParams();
  const { tenants } = useTenants();
  const kind = (kinds as readonly string[]).includes(sp.get('kind') || '') ? sp.get('kind')! : 'business';
  const from = sp.get('from') ? dayjs(sp.get('from')!) : dayjs().subtract(6, 'day').startOf('day');
  const to = sp.get('to') ? dayjs(sp.get('to')!) : dayjs().add(1, 'day').startOf('day');
  const tenant = sp.get('tenant') || '';
  const byDay = sp.get('by') === 'day' && byDayKinds.includes(kind);
  const [rep, setRep] = useState<Report | null>(null);
  const [err, setErr] = useState('');
  const [loading, setLoading] = useState(false);
  const [exporting, setExporting] = useState(false);
  const query = useMemo(() => {
    const q = new URLSearchParams({ from: from.toISOString(), to: to.toISOString() });
    if (tenant) q.set('tenant', tenant);
    if (byDay) { q.set('by', 'day'); if (zone) q.set('tz', zone); }
    return q.toString();
  }, [from.valueOf(), to.valueOf(), tenant, byDay]); // eslint-disable-line react-hooks/exhaustive-deps
  const load = useCallback(() => {
    setLoading(true);
    api<Report>('GET', `/api/v1/reports/${kind}?${query}`).then((r) => { setRep(r); setErr(''); }).catch((e) => { setRep(null); setErr(e.message); }).finally(() => setLoading(false));
  }, [kind, query]);
  useEffect(() => { load(); }, [load]);
  const set = (k: string, v: string) => { const q = new URLSearchParams(sp); if (v) q.set(k, v); else q.delete(k); setSp(q); };
  const setRange = (r: [Dayjs | null, Dayjs | null] | null) => {
    const q = new URLSearchParams(sp);
    if (r && r[0] && r[1]) { q.set('from', r[0].startOf('day').toISOString()); q.set('to', r[1].add(1, 'day').startOf('day').toISOString()); } else { q.delete('from'); q.delete('to'); }
    setSp(q);
  };
  const exportXLSX = async () => {
    setExporting(true);
    try { await download(`/api/v1/reports/${kind}/xlsx?lang=${lang}&${query}`, `witness-${kind}.xlsx`); message.success(t('rpExported')); } catch (e: any) { setErr(e.message); } finally { setExporting(false); }
  };
  const title = (c: Column) => (lang === 'zh' ? c.zh : c.en);
  const chart = charts[kind];
  const chartData = useMemo(() => {
    if (!rep) return { labels: [] as string[], series: [] as { name: string; values: number[] }[] };
    const col = (k: string) => rep.columns.find((c) => c.key === k);
    return {
      labels: rep.rows.map((r) => chart.label.map((k) => r[k]).filter(Boolean).join(' ') || String(r.tenant_id || r.agent_id || '—')),
      series: chart.series.map((k) => ({ name: col(k) ? title(col(k)!) : k, values: rep.rows.map((r) => Number(r[k]) || 0) })),
    };
  }, [rep, lang]); // eslint-disable-line react-hooks/exhaustive-deps

  return (
    <Card title={t('rpTitle')} data-testid="reports">
      <Space wrap style={{ marginBottom: 16 }}>
        <DatePicker.RangePicker aria-label={t('dates')} allowClear={false} value={[from, to.subtract(1, 'day')]} onChange={(r) => setRange(r as any)} data-testid="rp-range" />
        <TenantSelect tenants={tenants} value={tenant} onChange={(v) => set('tenant', v)} label={t('rpTenant')} allowClear testId="rp-tenant" />
        <Segmented aria-label={t('rpGrouping')} disabled={!byDayKinds.includes(kind)} value={byDay ? 'day' : 'total'} onChange={(v) => set('by', v === 'day' ? 'day' : '')}
          options={[{ value: 'total', label: t('rpTotal') }, { value: 'day', label: t('rpByDay') }]} data-testid="rp-by" />
        <Button onClick={load} aria-label={t('refresh')}>{t('refresh')}</Button>
        <Button type="primary" onClick={exportXLSX} loading={exporting} data-testid="rp-export" aria-label={t('rpExport')}>{t('rpExport')}</Button>
      </Space>
      {err && <Alert type="error" showIcon message={err} style={{ marginBottom: 16 }} />}
      <Tabs activeKey={kind} onChange={(k) => set('kind', k)} items={kinds.map((k) => ({ key: k, label: <span data-testid={'rp-tab-' + k}>{t('rp_' + k)}</span> }))} />
      <div data-testid={'rp-' + kind}>
        <Bars testId={'rp-chart-' + kind} ariaLabel={t('rp_' + kind)} labels={chartData.labels} series={chartData.series} />
        <Table size="small" loading={loading} rowKey={(_, i) => String(i)} scroll={{ x: 'max-content' }} pagination={{ pageSize: 20, hideOnSinglePage: true }}
          dataSource={rep?.rows || []} data-testid={'rp-table-' + kind}
          columns={(rep?.columns || []).map((c) => ({ title: title(c), dataIndex: c.key, key: c.key }))} />
        <p style={{ color: '#888', marginTop: 8 }}>{t('rpNote')}{['queues', 'branches'].includes(kind) ? ' ' + t('rpLiveNote') : ''}</p>
      </div>
    </Card>
  );
}
