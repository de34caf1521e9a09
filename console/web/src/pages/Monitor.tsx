import { useEffect, useRef, useState } from 'react';
import { Alert, Badge, Button, Card, Col, Empty, Row, Select, Space, Statistic, Tag, Typography, message } from 'antd';
import { api, sse } from '../api';
import { useMe } from '../me';
import { stateNames, useStateName, useT } from '../i18n';

type Agent = { id: string; tenant_id: string; queues: string[]; state: string; since: string; calls: number; ticket_id?: string };
type Ticket = { id: string; queue: string; state: string; customer_id: string; joined_at: string };
type Rec = { status: string; answered_at?: string };

// Colour per agent state on the seat map.
export const stateColors: Record<string, string> = {
  idle: '#52c41a', ringing: '#faad14', in_call: '#1677ff', wrap_up: '#722ed1', busy: '#fa541c', break: '#13c2c2',
  meeting: '#2f54eb', meal: '#eb2f96', paused: '#8c8c8c', signed_in: '#a0d911', signed_out: '#d9d9d9',
};
const forceable = ['idle', 'busy', 'break', 'meeting', 'meal', 'paused', 'wrap_up', 'signed_out'];

const dur = (ms: number) => {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600); const m = Math.floor((s % 3600) / 60); const r = s % 60;
  return (h ? h + ':' : '') + String(m).padStart(h ? 2 : 1, '0') + ':' + String(r).padStart(2, '0');
};

// The supervisors' live monitor (§4.3.2): agents as cards coloured by
// state with how long they have been in it, forced state changes, queue
// lengths and today's answer rate. The console event stream
// (GET /api/v1/console/events) drives it: every event re-reads agents and
// tickets (and, for ticket events, today's records) over REST.
export default function Monitor() {
  const t = useT();
  const sn = useStateName();
  const me = useMe();
  const [agents, setAgents] = useState<Agent[]>([]);
  const [tickets, setTickets] = useState<Ticket[]>([]);
  const [recs, setRecs] = useState<Rec[]>([]);
  const [names, setNames] = useState<Record<string, string>>({});
  const [live, setLive] = useState(false);
  const [events, setEvents] = useState(0);
  const [now, setNow] = useState(Date.now());
  const [pick, setPick] = useState<Record<string, string>>({});
  const [err, setErr] = useState('');
  const pending = useRef<{ timer: number | null; records: boolean }>({ timer: null, records: false });

  const load = async (records: boolean) => {
    try {
      const [a, tk] = await Promise.all([api('GET', '/api/v1/console/agents'), api('GET', '/api/v1/console/tickets')]);
      setAgents((a.agents as Agent[]).sort((x, y) => x.id.localeCompare(y.id)));
      setTickets(tk.tickets);
      if (records) {
        const mid = new Date(); mid.setHours(0, 0, 0, 0);
        const r = await api('GET', `/api/v1/records?limit=1000&from=${encodeURIComponent(mid.toISOString())}`);
        setRecs(r.records);
      }
    } catch (e: any) { setErr(e.message); }
  };
  const schedule = (records: boolean) => {
    const p = pending.current;
    p.records = p.records || records;
    if (p.timer !== null) return;
    p.timer = window.setTimeout(() => { const r = p.records; p.timer = null; p.records = false; load(r); }, 200);
  };
  useEffect(() => {
    load(true);
    // Names where the account may read users (administrators); a
    // supervisor without user.read sees agent ids.
    if (me?.role === 'province_admin' || me?.role === 'tenant_admin') api('GET', '/api/v1/users').then((r) => setNames(Object.fromEntries((r.users || []).map((u: any) => [u.id, u.display_name || u.username])))).catch(() => {});
    const ac = new AbortController();
    (async () => {
      while (!ac.signal.aborted) {
        try {
          setLive(true);
          await sse('/api/v1/console/events', (kind) => { setEvents((n) => n + 1); schedule(kind.startsWith('ticket.')); }, ac.signal);
        } catch { /* reconnect */ }
        setLive(false);
        if (!ac.signal.aborted) { await new Promise((r) => setTimeout(r, 1000)); load(true); }
      }
    })();
    const clock = setInterval(() => setNow(Date.now()), 1000);
    return () => { ac.abort(); clearInterval(clock); };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const force = async (a: Agent) => {
    const to = pick[a.id];
    if (!to) return;
    setErr('');
    try { await api('PUT', `/api/v1/console/agents/${encodeURIComponent(a.id)}/state`, { state: to, reason: 'monitor' }); message.success(`${t('monForced')}: ${sn(to)}`); schedule(false); }
    catch (e: any) { setErr(e.message); }
  };

  const waiting = tickets.filter((x) => x.state === 'waiting' || x.state === 'queued');
  const perQueue = Object.entries(waiting.reduce<Record<string, number>>((m, x) => { m[x.queue] = (m[x.queue] || 0) + 1; return m; }, {})).sort();
  const answered = recs.filter((r) => r.answered_at && !r.answered_at.startsWith('0001')).length;
  const finished = recs.filter((r) => ['ended', 'abandoned', 'timeout', 'in_call'].includes(r.status)).length;
  const rate = finished ? Math.round((1000 * answered) / finished) / 10 : 0;
  const byState = agents.reduce<Record<string, number>>((m, a) => { m[a.state] = (m[a.state] || 0) + 1; return m; }, {});

  return (
    <div data-testid="monitor">
      {err && <Alert type="error" showIcon message={err} closable onClose={() => setErr('')} style={{ marginBottom: 12 }} role="alert" />}
      <Row gutter={[16, 16]}>
        <Col xs={12} md={6}><Card size="small"><Statistic title={t('waiting')} value={waiting.length} data-testid="mon-waiting" /></Card></Col>
        <Col xs={12} md={6}><Card size="small"><Statistic title={t('inCall')} value={byState.in_call || 0} data-testid="mon-incall" /></Card></Col>
        <Col xs={12} md={6}><Card size="small"><Statistic title={t('monAnswerRate')} value={rate} suffix="%" data-testid="mon-rate" />
          <Typography.Text type="secondary">{t('monAnswered')} {answered} / {t('monOffered')} {finished}</Typography.Text></Card></Col>
        <Col xs={12} md={6}><Card size="small"><Space direction="vertical" size={0}>
          <Badge status={live ? 'processing' : 'error'} text={live ? t('monLive') : t('monReconnecting')} data-testid="mon-live" data-live={live ? '1' : '0'} />
          <Typography.Text type="secondary">SSE: <span data-testid="mon-events">{events}</span></Typography.Text></Space></Card></Col>
      </Row>
      <Card title={t('monSeatMap')} style={{ marginTop: 16 }} extra={<Space wrap size={4}>{Object.keys(stateColors).map((s) => <Tag key={s} color={stateColors[s]}>{sn(s)}</Tag>)}</Space>}>
        {agents.length === 0 ? <Empty description={t('monNoAgents')} /> : (
          <Row gutter={[12, 12]}>
            {agents.map((a) => (
              <Col key={a.id} xs={24} sm={12} md={8} xl={6}>
                <Card size="small" data-testid="seat" data-agent={a.id} data-state={a.state}
                  style={{ borderLeft: `6px solid ${stateColors[a.state] || '#999'}`, background: (stateColors[a.state] || '#999') + '14' }}>
                  <Space direction="vertical" size={2} style={{ width: '100%' }}>
                    <Typography.Text strong>{names[a.id] || a.id}</Typography.Text>
                    <Space wrap size={4}><Tag color={stateColors[a.state]} data-testid="seat-state">{sn(a.state)}</Tag>
                      <span aria-label={t('monDuration')}>{t('monDuration')} <b data-testid="seat-duration">{dur(now - new Date(a.since).getTime())}</b></span></Space>
                    <Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('deskQueue')}: {a.queues.join(', ') || '-'} · {t('monCalls')} {a.calls}{a.ticket_id ? ' · ' + a.ticket_id : ''}</Typography.Text>
                    <Space.Compact style={{ width: '100%' }}>
                      <Select size="small" style={{ flex: 1 }} aria-label={`${t('monForceTo')} ${names[a.id] || a.id}`} placeholder={t('monForceTo')} value={pick[a.id]}
                        onChange={(v) => setPick((p) => ({ ...p, [a.id]: v }))} options={forceable.filter((s) => stateNames[s]).map((s) => ({ value: s, label: sn(s) }))} />
                      <Button size="small" onClick={() => force(a)} disabled={!pick[a.id]} data-testid="force" aria-label={`${t('monForceState')} ${names[a.id] || a.id}`}>{t('monForceState')}</Button>
                    </Space.Compact>
                  </Space>
                </Card>
              </Col>
            ))}
          </Row>
        )}
      </Card>
      <Row gutter={[16, 16]} style={{ marginTop: 16 }}>
        <Col xs={24} md={12}>
          <Card title={t('monQueueLengths')} size="small" data-testid="mon-queues">
            {perQueue.length === 0 ? <Typography.Text type="secondary">{t('monNoWaiting')}</Typography.Text>
              : perQueue.map(([qn, n]) => <div key={qn} style={{ display: 'flex', justifyContent: 'space-between' }}><span>{qn}</span><b data-queue={qn}>{n}</b></div>)}
          </Card>
        </Col>
        <Col xs={24} md={12}>
          <Card title={t('monitorAlerts')} size="small">
            <Alert type="info" showIcon message={t('monitorAlertsGap')} data-testid="mon-alerts-gap" />
          </Card>
        </Col>
      </Row>
    </div>
  );
}
