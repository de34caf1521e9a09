import { useEffect, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { Alert, Card, Descriptions, Empty, Table, Tag } from 'antd';
import { api } from '../api';
import { useT } from '../i18n';

// One service record: its fields, QC verdict, markers and recording files.
// The API has no download URL for recordings yet, so no player.
export default function RecordDetail() {
  const t = useT();
  const { id } = useParams();
  const [rec, setRec] = useState<any>(null);
  const [err, setErr] = useState('');
  const [timeline, setTimeline] = useState<any[]>([]);
  useEffect(() => {
    api('GET', '/api/v1/records/' + encodeURIComponent(id!)).then(setRec).catch((e) => setErr(e.message));
    // The marker store (analyzers' episodes and agents' manual marks).
    api('GET', '/api/v1/markers/recordings/' + encodeURIComponent(id!) + '/markers').then((m) => setTimeline(m || [])).catch(() => setTimeline([]));
  }, [id]);
  if (err) return <Alert type="error" showIcon message={err} />;
  if (!rec) return null;
  const ts = (v: string) => (v && !v.startsWith('0001') ? new Date(v).toLocaleString() : '-');
  return (
    <Card title={`${t('detail')} · ${rec.id}`} extra={<Link to="/records">{t('back')}</Link>} data-testid="record-detail">
      <Descriptions bordered size="small" column={{ xs: 1, md: 2 }}>
        <Descriptions.Item label={t('tenant')}>{rec.tenant_id}</Descriptions.Item>
        <Descriptions.Item label={t('business')}>{rec.business}</Descriptions.Item>
        <Descriptions.Item label={t('channel')}>{rec.channel}</Descriptions.Item>
        <Descriptions.Item label={t('agent')}>{rec.agent_id}</Descriptions.Item>
        <Descriptions.Item label={t('customerId')}>{rec.customer_id}</Descriptions.Item>
        <Descriptions.Item label={t('status')}>{rec.status}</Descriptions.Item>
        <Descriptions.Item label={t('queuedAt')}>{ts(rec.queued_at)}</Descriptions.Item>
        <Descriptions.Item label={t('wait')}>{(rec.wait_ms / 1000).toFixed(1)}</Descriptions.Item>
        <Descriptions.Item label={t('talk')}>{(rec.talk_ms / 1000).toFixed(1)}</Descriptions.Item>
        <Descriptions.Item label={t('qc')}>{rec.qc_verdict ? <Tag color={rec.qc_verdict === 'pass' ? 'green' : rec.qc_verdict === 'warn' ? 'orange' : 'red'}>{rec.qc_verdict}</Tag> : '-'}</Descriptions.Item>
        <Descriptions.Item label={t('rating')}>{rec.rating || '-'}</Descriptions.Item>
        <Descriptions.Item label={t('summary')}>{rec.summary || '-'}</Descriptions.Item>
      </Descriptions>
      <h3 style={{ marginTop: 16 }}>{t('recordingFiles')}</h3>
      <Alert type="info" message={t('noDownload')} style={{ marginBottom: 8 }} />
      {rec.recordings?.length ? (
        <Table rowKey="key" size="small" pagination={false} dataSource={rec.recordings} scroll={{ x: 'max-content' }}
          columns={[{ title: 'key', dataIndex: 'key' }, { title: 'sha256', dataIndex: 'sha256', render: (v: string) => <code>{v?.slice(0, 16)}…</code> }, { title: 'bytes', dataIndex: 'size' }]} />
      ) : <Empty />}
      <h3 style={{ marginTop: 16 }}>{t('timeline')}</h3>
      {timeline.length ? (
        <Table rowKey="id" size="small" pagination={false} dataSource={timeline} scroll={{ x: 'max-content' }} data-testid="timeline"
          columns={[
            { title: 's', dataIndex: 'at_ns', render: (v: number) => (v / 1e9).toFixed(1) },
            { title: 'kind', dataIndex: 'kind' },
            { title: 'severity', dataIndex: 'severity' },
            { title: 'source', dataIndex: 'source' },
            { title: 'label', dataIndex: 'label' },
            { title: 'author', dataIndex: 'author' },
          ]} />
      ) : <Empty />}
      <h3 style={{ marginTop: 16 }}>{t('markers')}</h3>
      {rec.markers?.length ? (
        <Table rowKey={(m: any) => m.at_ms + m.kind} size="small" pagination={false} dataSource={rec.markers} scroll={{ x: 'max-content' }}
          columns={[{ title: 'ms', dataIndex: 'at_ms' }, { title: 'kind', dataIndex: 'kind' }, { title: 'label', dataIndex: 'label' }]} />
      ) : <Empty />}
    </Card>
  );
}
