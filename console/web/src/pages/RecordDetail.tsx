import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { Alert, Button, Card, Col, Descriptions, Empty, Input, Row, Select, Space, Table, Tag, Typography, message } from 'antd';
import { api } from '../api';
import { useT } from '../i18n';
import { useMe } from '../me';
import { qcColor } from './Records';

type Link_ = { key: string; sha256: string; size: number };
type Cat = 'auto' | 'manual' | 'qc' | 'recorder';
type Item = { key: string; cat: Cat; at: number; end?: number; kind: string; severity?: string; label?: string; author?: string };
type Finding = { kind: string; severity: string; start_ns: number; end_ns: number; message: string };
type QC = { verdict: string; reports: { job_id: string; status: string; created_at: string; result: any }[] };

// Colours of the timeline's categories (and their legend).
const colors: Record<Cat, string> = { auto: '#fa8c16', manual: '#1677ff', qc: '#722ed1', recorder: '#8c8c8c' };
const cats: Cat[] = ['auto', 'manual', 'qc', 'recorder'];
const legendKey: Record<Cat, string> = { auto: 'recLegendAuto', manual: 'recLegendManual', qc: 'recLegendQC', recorder: 'recLegendRecorder' };

const base = (k: string) => k.slice(k.lastIndexOf('/') + 1);
// Composite recordings: the room's mixed video (not per-participant files,
// screenshots or markers).
const isComposite = (k: string) => /\.(mp4|webm|mkv)$/.test(k) && !k.includes('_participants') && !k.includes('_shots');
const fmt = (s: number) => { const m = Math.floor(s / 60); return `${String(m).padStart(2, '0')}:${(s - m * 60).toFixed(1).padStart(4, '0')}`; };

// One service record: the composite recording in a player, a timeline of
// QC findings, analyzer events and manual marks (click to seek), manual
// marks at the player's position, the QC report, downloads (signed links
// from the API, every one audited) and the record's fields.
export default function RecordDetail() {
  const t = useT();
  const me = useMe();
  const { id } = useParams();
  const rid = encodeURIComponent(id!);
  const [rec, setRec] = useState<any>(null);
  const [err, setErr] = useState('');
  const [qc, setQC] = useState<QC | null>(null);
  const [events, setEvents] = useState<any[]>([]);
  const [manual, setManual] = useState<any[]>([]);
  const [file, setFile] = useState('');
  const [src, setSrc] = useState('');
  const [dur, setDur] = useState(0);
  const [now, setNow] = useState(0);
  const [label, setLabel] = useState('');
  const video = useRef<HTMLVideoElement>(null);
  // Manual marks need record.write (the agents of the record).
  const canMark = me?.role === 'agent';

  const loadManual = useCallback(() => api('GET', `/api/v1/markers/recordings/${rid}/markers`).then((m) => setManual(m || [])).catch(() => setManual([])), [rid]);
  useEffect(() => {
    api('GET', '/api/v1/records/' + rid).then((r) => {
      setRec(r);
      const v = (r.recordings || []).map((l: Link_) => base(l.key)).filter(isComposite);
      if (v.length) setFile((f) => f || v[0]);
    }).catch((e) => setErr(e.message));
    api('GET', `/api/v1/records/${rid}/qc`).then(setQC).catch(() => setQC(null));
    api('GET', `/api/v1/records/${rid}/events`).then((r) => setEvents(r.events || [])).catch(() => setEvents([]));
    loadManual();
  }, [rid, loadManual]);
  // A signed play link for the chosen file (audited as record.play).
  useEffect(() => {
    if (!file) return;
    setSrc(''); setDur(0);
    api('POST', `/api/v1/records/${rid}/files/${encodeURIComponent(file)}/link`, { purpose: 'play' })
      .then((r) => setSrc(r.url)).catch((e) => setErr(t('recLinkFailed') + ': ' + e.message));
  }, [rid, file]); // eslint-disable-line react-hooks/exhaustive-deps

  const videos: Link_[] = (rec?.recordings || []).filter((l: Link_) => isComposite(base(l.key)));
  const first = videos.length ? base(videos[0].key) : '';
  const report = useMemo(() => {
    const done = (qc?.reports || []).filter((r) => r.status === 'done' && r.result);
    return done.length ? done[done.length - 1].result : null;
  }, [qc]);
  const findings: Finding[] = report?.report?.findings || [];
  const items: Item[] = useMemo(() => {
    const out: Item[] = [];
    // An analyzer episode is stored as its onset (KIND) and its end
    // (KIND.end): drawn as one bar from onset to end.
    const open: Record<string, Item> = {};
    for (const e of [...events].sort((a, b) => a.at_ns - b.at_ns)) {
      if (e.file && file && e.file !== file) continue;
      const at = e.at_ns / 1e9;
      const k: string = e.kind || '';
      if (k.endsWith('.end') && open[k.slice(0, -4)]) { open[k.slice(0, -4)].end = at; delete open[k.slice(0, -4)]; continue; }
      const cat: Cat = e.origin === 'recorder' ? 'recorder' : e.source === 'manual' ? 'manual' : 'auto';
      // The recorder's events say who and what in their data.
      const d = e.data || {};
      const label = cat === 'recorder' ? [d.role || d.identity, d.kind, d.duration].filter(Boolean).join(' ') : e.label;
      const it: Item = { key: 'e' + out.length, cat, at, end: e.end_ns ? e.end_ns / 1e9 : undefined, kind: k, severity: e.severity, label };
      if (it.cat === 'auto' && !it.end) open[k] = it;
      out.push(it);
    }
    // The marker store's marks are on the record's (first file's) timeline.
    if (file === first) {
      for (const m of manual) out.push({ key: 'm' + m.id, cat: m.source === 'manual' ? 'manual' : 'auto', at: m.at_ns / 1e9, end: m.end_ns ? m.end_ns / 1e9 : undefined, kind: m.kind, severity: m.severity, label: m.label, author: m.author });
      for (const [i, m] of (rec?.markers || []).entries()) out.push({ key: 'r' + i, cat: 'manual', at: m.at_ms / 1000, kind: m.kind, label: m.label });
      for (const [i, f] of findings.entries()) out.push({ key: 'q' + i, cat: 'qc', at: f.start_ns / 1e9, end: f.end_ns / 1e9, kind: f.kind, severity: f.severity, label: f.message });
    }
    return out.sort((a, b) => a.at - b.at);
  }, [events, manual, rec, findings, file, first]);
  const span = Math.max(dur, ...items.map((i) => i.end || i.at), 1);

  const seek = (s: number) => {
    const v = video.current;
    if (!v) return;
    v.currentTime = Math.min(s, v.duration || s);
    setNow(v.currentTime);
  };
  const mark = async () => {
    const at = video.current?.currentTime || 0;
    try {
      await api('POST', `/api/v1/markers/recordings/${rid}/markers`, { at_ms: Math.round(at * 1000), label: label.trim() || t('marker'), author: me?.username || '' });
      setLabel('');
      message.success(t('recMarkAdded').replace('{t}', fmt(at)));
      loadManual();
    } catch (e: any) { setErr(e.message); }
  };
  // A signed download link (audited as record.download), fetched by the
  // browser as an attachment.
  const download = async (name: string) => {
    try {
      const r = await api('POST', `/api/v1/records/${rid}/files/${encodeURIComponent(name)}/link`, { purpose: 'download' });
      const a = document.createElement('a');
      a.href = r.url; a.download = name; document.body.appendChild(a); a.click(); a.remove();
    } catch (e: any) { setErr(e.message); }
  };

  if (!rec) return err ? <Alert type="error" showIcon message={err} role="alert" /> : null;
  const ts = (v: string) => (v && !v.startsWith('0001') ? new Date(v).toLocaleString() : '-');
  const verdict = rec.qc_verdict || qc?.verdict || '';
  const lane = (c: Cat) => cats.indexOf(c);
  return (
    <Card title={`${t('detail')} · ${rec.id}`} extra={<Link to="/records">{t('back')}</Link>} data-testid="record-detail">
      {err && <Alert type="error" showIcon message={err} style={{ marginBottom: 16 }} role="alert" closable onClose={() => setErr('')} />}
      <Row gutter={[16, 16]}>
        <Col xs={24} lg={14}>
          <Typography.Title level={5}>{t('recPlayer')}</Typography.Title>
          {videos.length > 1 && (
            <Select value={file} onChange={setFile} style={{ width: '100%', marginBottom: 8 }} aria-label={t('recFile')}
              options={videos.map((l) => ({ value: base(l.key), label: base(l.key) }))} />
          )}
          {file ? (
            <video ref={video} src={src || undefined} controls preload="auto" playsInline aria-label={t('recVideoLabel')} data-testid="player"
              style={{ width: '100%', background: '#000', aspectRatio: '16/9' }}
              onLoadedMetadata={(e) => setDur(e.currentTarget.duration || 0)} onTimeUpdate={(e) => setNow(e.currentTarget.currentTime)} onSeeked={(e) => setNow(e.currentTarget.currentTime)} />
          ) : <Alert type="info" message={t('recNoVideo')} />}
          <div style={{ margin: '12px 0 4px' }}><Typography.Text strong>{t('recTimeline')}</Typography.Text>
            <Typography.Text type="secondary" style={{ marginLeft: 12 }}>{t('recCurrent')} <span data-testid="current-time">{fmt(now)}</span></Typography.Text></div>
          <div role="group" aria-label={t('recTimelineLabel')} data-testid="timeline-bar"
            style={{ position: 'relative', height: cats.length * 14 + 6, background: '#f5f5f5', borderRadius: 4, overflow: 'hidden' }}>
            {items.map((i) => (
              <button key={i.key} type="button" data-testid="tl-item" data-cat={i.cat} data-at={i.at} title={`${fmt(i.at)} ${i.kind} ${i.label || ''}`}
                aria-label={`${t('recSeekTo')} ${fmt(i.at)} ${t(legendKey[i.cat])} ${i.kind}`} onClick={() => seek(i.at)}
                style={{ position: 'absolute', left: `${(i.at / span) * 100}%`, width: i.end ? `max(6px, ${((i.end - i.at) / span) * 100}%)` : 6,
                  top: 3 + lane(i.cat) * 14, height: 12, padding: 0, border: 0, borderRadius: 2, background: colors[i.cat], opacity: 0.85, cursor: 'pointer' }} />
            ))}
            {dur > 0 && <div aria-hidden style={{ position: 'absolute', left: `${(now / span) * 100}%`, top: 0, bottom: 0, width: 2, background: '#f5222d' }} />}
          </div>
          <Space wrap size="middle" style={{ marginTop: 6 }} data-testid="legend">
            {cats.map((c) => (
              <span key={c}><span aria-hidden style={{ display: 'inline-block', width: 12, height: 12, background: colors[c], borderRadius: 2, marginRight: 4, verticalAlign: 'middle' }} />{t(legendKey[c])}</span>
            ))}
          </Space>
          {canMark && file && (
            <Space.Compact style={{ marginTop: 12, width: '100%', maxWidth: 460 }}>
              <Input aria-label={t('recMarkLabel')} placeholder={t('recMarkLabel')} value={label} onChange={(e) => setLabel(e.target.value)} onPressEnter={mark} />
              <Button onClick={mark} type="primary">{t('recMarkHere')}</Button>
            </Space.Compact>
          )}
          <Table rowKey="key" size="small" pagination={false} dataSource={items} scroll={{ x: 'max-content' }} data-testid="timeline" style={{ marginTop: 12 }}
            locale={{ emptyText: t('recNoEvents') }}
            columns={[
              { title: t('recTime'), dataIndex: 'at', render: (v: number, i: Item) => <Button size="small" type="link" onClick={() => seek(v)} aria-label={`${t('recSeekTo')} ${fmt(v)} ${i.kind}`}>{fmt(v)}{i.end ? ' – ' + fmt(i.end) : ''}</Button> },
              { title: t('recKind'), dataIndex: 'kind' },
              { title: t('recType'), dataIndex: 'cat', render: (c: Cat) => <Tag color={colors[c]}>{t(legendKey[c])}</Tag> },
              { title: t('recLabel'), dataIndex: 'label' },
              { title: t('recSeverity'), dataIndex: 'severity' },
              { title: t('recAuthor'), dataIndex: 'author' },
            ]} />
        </Col>
        <Col xs={24} lg={10}>
          <Typography.Title level={5}>{t('recQCReport')}</Typography.Title>
          <Space direction="vertical" style={{ width: '100%' }} data-testid="qc-report">
            <div>{t('qc')}: {verdict ? <Tag color={qcColor(verdict)} data-testid="detail-verdict" data-verdict={verdict}>{t('recQC' + verdict)}</Tag> : <Typography.Text type="secondary">{t('recQCPending')}</Typography.Text>}</div>
            {report?.summary && <Typography.Text type="secondary">{report.summary}</Typography.Text>}
            <Table rowKey={(f: Finding) => f.kind + f.start_ns} size="small" pagination={false} dataSource={findings} scroll={{ x: 'max-content' }}
              locale={{ emptyText: t('recQCNoFindings') }}
              columns={[
                { title: t('recTime'), dataIndex: 'start_ns', render: (v: number) => <Button size="small" type="link" disabled={file !== first} onClick={() => seek(v / 1e9)} aria-label={`${t('recSeekTo')} ${fmt(v / 1e9)}`}>{fmt(v / 1e9)}</Button> },
                { title: t('recQCDuration'), render: (f: Finding) => ((f.end_ns - f.start_ns) / 1e9).toFixed(1) },
                { title: t('recKind'), dataIndex: 'kind' },
                { title: t('recSeverity'), dataIndex: 'severity' },
                { title: t('recQCMessage'), dataIndex: 'message' },
              ]} />
          </Space>
        </Col>
      </Row>
      <Typography.Title level={5} style={{ marginTop: 16 }}>{t('recordingFiles')}</Typography.Title>
      <Typography.Text type="secondary">{t('recDownloadNote')}</Typography.Text>
      {rec.recordings?.length ? (
        <Table rowKey="key" size="small" pagination={false} dataSource={rec.recordings} scroll={{ x: 'max-content' }} data-testid="files"
          columns={[
            { title: t('recDownload'), key: 'dl', render: (l: Link_) => <Button size="small" onClick={() => download(base(l.key))} aria-label={`${t('recDownloadFile')} ${base(l.key)}`}>{t('recDownload')}</Button> },
            { title: t('recFile'), dataIndex: 'key', render: (k: string) => base(k) },
            { title: t('recSize'), dataIndex: 'size' },
            { title: 'sha256', dataIndex: 'sha256', render: (v: string) => <code title={v}>{v}</code> },
          ]} />
      ) : <Empty />}
      <Typography.Title level={5} style={{ marginTop: 16 }}>{t('recFields')}</Typography.Title>
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
        <Descriptions.Item label={t('rating')}>{rec.rating || '-'}</Descriptions.Item>
        <Descriptions.Item label={t('summary')}>{rec.summary || '-'}</Descriptions.Item>
      </Descriptions>
    </Card>
  );
}
