import { useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { Alert, Button, Card, DatePicker, Form, Input, Select, Table } from 'antd';
import type { Dayjs } from 'dayjs';
import { api } from '../api';
import { useT } from '../i18n';

type Rec = { id: string; tenant_id: string; business: string; channel: string; agent_id: string; customer_id: string; status: string; queued_at: string; wait_ms: number; talk_ms: number; qc_verdict: string };

const statuses = ['queued', 'ringing', 'in_call', 'ended', 'abandoned', 'timeout'];
const channels = ['app', 'h5', 'mini', 'pc'];

// Service records (recordings) with the API's filters, kept in the URL.
export default function Records() {
  const t = useT();
  const [sp, setSp] = useSearchParams();
  const [rows, setRows] = useState<Rec[]>([]);
  const [err, setErr] = useState('');
  const [loading, setLoading] = useState(false);
  useEffect(() => {
    setLoading(true);
    const q = new URLSearchParams(sp); q.set('limit', '500');
    api('GET', '/api/v1/records?' + q.toString()).then((r) => { setRows(r.records); setErr(''); }).catch((e) => setErr(e.message)).finally(() => setLoading(false));
  }, [sp]);
  const search = (v: { agent?: string; business?: string; channel?: string; status?: string; range?: [Dayjs, Dayjs] | null }) => {
    const q = new URLSearchParams();
    for (const k of ['agent', 'business', 'channel', 'status'] as const) if (v[k]) q.set(k, v[k]!);
    if (v.range) { q.set('from', v.range[0].startOf('day').toISOString()); q.set('to', v.range[1].endOf('day').toISOString()); }
    setSp(q);
  };
  return (
    <Card title={t('records')} data-testid="records">
      {err && <Alert type="error" showIcon message={err} style={{ marginBottom: 16 }} />}
      <Form layout="inline" onFinish={search} style={{ marginBottom: 16, rowGap: 8 }}
        initialValues={{ agent: sp.get('agent') || '', business: sp.get('business') || '', channel: sp.get('channel') || undefined, status: sp.get('status') || undefined }}>
        <Form.Item label={t('agent')} name="agent"><Input style={{ width: 120 }} /></Form.Item>
        <Form.Item label={t('business')} name="business"><Input style={{ width: 120 }} /></Form.Item>
        <Form.Item label={t('channel')} name="channel"><Select allowClear style={{ width: 100 }} aria-label={t('channel')} options={channels.map((c) => ({ value: c, label: c }))} /></Form.Item>
        <Form.Item label={t('status')} name="status"><Select allowClear style={{ width: 120 }} aria-label={t('status')} options={statuses.map((c) => ({ value: c, label: c }))} /></Form.Item>
        <Form.Item label={t('dates')} name="range"><DatePicker.RangePicker style={{ width: 240 }} /></Form.Item>
        <Button type="primary" htmlType="submit">{t('search')}</Button>
      </Form>
      <Table rowKey="id" size="small" loading={loading} dataSource={rows} scroll={{ x: 900 }} pagination={{ pageSize: 20 }}
        columns={[
          { title: t('id'), dataIndex: 'id', render: (id: string) => <Link to={'/records/' + encodeURIComponent(id)}>{id}</Link> },
          { title: t('queuedAt'), dataIndex: 'queued_at', render: (v: string) => new Date(v).toLocaleString() },
          { title: t('business'), dataIndex: 'business' },
          { title: t('channel'), dataIndex: 'channel' },
          { title: t('agent'), dataIndex: 'agent_id' },
          { title: t('customerId'), dataIndex: 'customer_id' },
          { title: t('status'), dataIndex: 'status' },
          { title: t('wait'), dataIndex: 'wait_ms', render: (v: number) => (v / 1000).toFixed(0) },
          { title: t('talk'), dataIndex: 'talk_ms', render: (v: number) => (v / 1000).toFixed(0) },
          { title: t('qc'), dataIndex: 'qc_verdict' },
        ]} />
    </Card>
  );
}
