import { useEffect, useRef, useState } from 'react';
import { Alert, Badge, Button, Card, Col, Empty, InputNumber, List, Progress, Row, Select, Space, Statistic, Tag, Typography, message } from 'antd';
import { Link } from 'react-router-dom';
import { beep } from '../call';
import { api, sse } from '../api';
import { useMe } from '../me';
import { stateNames, useStateName, useT } from '../i18n';

type Agent = { id: string; tenant_id: string; name?: string; queues: string[]; state: string; since: string; calls: number; ticket_id?: string };
type Ticket = { id: string; queue: string; state: string; customer_id: string; joined_at: string };
type Rec = { status: string; business: string; answered_at?: string };
type LiveAlert = { tenant: string; room: string; event: { kind: string; severity?: string; wall_time?: string; participant?: string } };
type Limits = { waiting: number; longest: number };

const load = <T,>(k: string, d: T): T => { try { return JSON.parse(localStorage.getItem(k) || 'null') ?? d; } catch { return d; } };

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
  const [alerts, setAlerts] = useState<LiveAlert[]>([]);
  const [alertsLive, setAlertsLive] = useState(false);
  // Seat positions and warning thresholds are this browser's settings
  // (localStorage): no server store for them yet.
  const [order, setOrder] = useState<string[]>(() => load('witness.seatOrder', []));
  const [limits, setLimits] = useState<Limits>(() => load('witness.monitorLimits', { waiting: 5, longest: 120 }));
  const warned = useRef(false);

  const loadAll = async (records: boolean) => {
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
    p.timer = window.setTimeout(() => { const r = p.records; p.timer = null; p.records = false; loadAll(r); }, 200);
  };
  useEffect(() => {
    loadAll(true);
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
        if (!ac.signal.aborted) { await new Promise((r) => setTimeout(r, 1000)); loadAll(true); }
      }
    })();
    // Live risk alerts: analyzer events from the bus (GET
    // /api/v1/live-alerts/stream), a tone per opened episode.
    (async () => {
      while (!ac.signal.aborted) {
        try {
          setAlertsLive(true);
          await sse('/api/v1/live-alerts/stream', (_, a: LiveAlert) => {
            setAlerts((x) => [a, ...x].slice(0, 100));
            if (!a.event.kind.endsWith('.end')) beep(a.event.severity === 'critical' ? 1320 : 880, 200);
          }, ac.signal);
        } catch { /* reconnect */ }
        setAlertsLive(false);
        if (!ac.signal.aborted) await new Promise((r) => setTimeout(r, 1000));
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
  const longest = waiting.reduce((m, x) => Math.max(m, (now - new Date(x.joined_at).getTime()) / 1000), 0);
  const over = (limits.waiting > 0 && waiting.length >= limits.waiting) || (limits.longest > 0 && longest >= limits.longest);
  useEffect(() => { if (over && !warned.current) beep(660, 600); warned.current = over; }, [over]);
  const setLimit = (k: keyof Limits, v: number | null) => { const l = { ...limits, [k]: v ?? 0 }; setLimits(l); localStorage.setItem('witness.monitorLimits', JSON.stringify(l)); };
  const rank = (id: string) => { const i = order.indexOf(id); return i < 0 ? 1e9 : i; };
  const seats = [...agents].sort((a, b) => rank(a.id) - rank(b.id) || a.id.localeCompare(b.id));
  const move = (id: string, d: number) => {
    const ids = seats.map((a) => a.id); const i = ids.indexOf(id); const j = i + d;
    if (j < 0 || j >= ids.length) return;
    [ids[i], ids[j]] = [ids[j], ids[i]];
    setOrder(ids); localStorage.setItem('witness.seatOrder', JSON.stringify(ids));
  };
  const byBusiness = Object.entries(recs.reduce<Record<string, number>>((m, r) => { m[r.business || '-'] = (m[r.business || '-'] || 0) + 1; return m; }, {})).sort((a, b) => b[1] - a[1]);
  const byState = agents.reduce<Record<string, number>>((m, a) => { m[a.state] = (m[a.state] || 0) + 1; return m; }, {});

  return (
    <div data-testid="monitor">
      {err && <Alert type="error" showIcon message={err} closable onClose={() => setErr('')} style={{ marginBottom: 12 }} role="alert" />}
      {over && <Alert type="warning" showIcon role="alert" data-testid="mon-warning" style={{ marginBottom: 12 }}
        message={`${t('monOverLimit')}: ${t('waiting')} ${waiting.length} / ${limits.waiting}, ${t('monLongest')} ${Math.round(longest)} / ${limits.longest} ${t('seconds')}`} />}
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
            {seats.map((a, i) => (
              <Col key={a.id} xs={24} sm={12} md={8} xl={6}>
                <Card size="small" data-testid="seat" data-agent={a.id} data-state={a.state}
                  style={{ borderLeft: `6px solid ${stateColors[a.state] || '#999'}`, background: (stateColors[a.state] || '#999') + '14' }}>
                  <Space direction="vertical" size={2} style={{ width: '100%' }}>
                    <Typography.Text strong>{names[a.id] || a.name || a.id}</Typography.Text>
                    <Space wrap size={4}><Tag color={stateColors[a.state]} data-testid="seat-state">{sn(a.state)}</Tag>
                      <span aria-label={t('monDuration')}>{t('monDuration')} <b data-testid="seat-duration">{dur(now - new Date(a.since).getTime())}</b></span></Space>
                    <Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('deskQueue')}: {a.queues.join(', ') || '-'} · {t('monCalls')} {a.calls}{a.ticket_id ? ' · ' + a.ticket_id : ''}</Typography.Text>
                    <Space size={4}>
                      <Button size="small" disabled={i === 0} onClick={() => move(a.id, -1)} aria-label={`${t('monMoveLeft')} ${names[a.id] || a.name || a.id}`} data-testid="seat-left">←</Button>
                      <Button size="small" disabled={i === seats.length - 1} onClick={() => move(a.id, 1)} aria-label={`${t('monMoveRight')} ${names[a.id] || a.name || a.id}`} data-testid="seat-right">→</Button>
                    </Space>
                    <Space.Compact style={{ width: '100%' }}>
                      <Select size="small" style={{ flex: 1 }} aria-label={`${t('monForceTo')} ${names[a.id] || a.name || a.id}`} placeholder={t('monForceTo')} value={pick[a.id]}
                        onChange={(v) => setPick((p) => ({ ...p, [a.id]: v }))} options={forceable.filter((s) => stateNames[s]).map((s) => ({ value: s, label: sn(s) }))} />
                      <Button size="small" onClick={() => force(a)} disabled={!pick[a.id]} data-testid="force" aria-label={`${t('monForceState')} ${names[a.id] || a.name || a.id}`}>{t('monForceState')}</Button>
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
          <Card title={t('monStateShare')} size="small" data-testid="mon-state-share">
            {Object.entries(byState).sort().map(([st, n]) => (
              <div key={st} style={{ display: 'flex', alignItems: 'center', gap: 8 }}>
                <Tag color={stateColors[st]} style={{ minWidth: 64 }}>{sn(st)}</Tag>
                <Progress percent={Math.round((100 * n) / agents.length)} strokeColor={stateColors[st]} size="small" aria-label={`${sn(st)} ${n}`} format={(pc) => `${n} · ${pc}%`} />
              </div>
            ))}
          </Card>
        </Col>
        <Col xs={24} md={12}>
          <Card title={t('monBusinessShare')} size="small" data-testid="mon-business">
            {byBusiness.length === 0 ? <Typography.Text type="secondary">{t('monNoCalls')}</Typography.Text> : byBusiness.map(([b, n]) => (
              <div key={b} style={{ display: 'flex', alignItems: 'center', gap: 8 }}>
                <span style={{ minWidth: 64 }}>{b}</span>
                <Progress percent={Math.round((100 * n) / recs.length)} size="small" aria-label={`${b} ${n}`} format={(pc) => `${n} · ${pc}%`} data-business={b} />
              </div>
            ))}
          </Card>
        </Col>
        <Col xs={24} md={12}>
          <Card title={t('monLimits')} size="small">
            <Space wrap>
              <label>{t('monLimitWaiting')} <InputNumber min={0} max={999} value={limits.waiting} onChange={(v) => setLimit('waiting', v)} aria-label={t('monLimitWaiting')} size="small" /></label>
              <label>{t('monLimitLongest')} <InputNumber min={0} max={86400} value={limits.longest} onChange={(v) => setLimit('longest', v)} aria-label={t('monLimitLongest')} size="small" /></label>
            </Space>
            <div><Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('monLimitsNote')}</Typography.Text></div>
          </Card>
        </Col>
        <Col xs={24}>
          <Card title={t('monitorAlerts')} size="small" extra={<Badge status={alertsLive ? 'processing' : 'error'} text={alertsLive ? t('monLive') : t('monReconnecting')} />}>
            <List size="small" dataSource={alerts} locale={{ emptyText: t('noAlerts') }} data-testid="mon-alerts" style={{ maxHeight: 260, overflow: 'auto' }}
              renderItem={(a) => (
                <List.Item>
                  <Space wrap>
                    <Tag color={a.event.severity === 'critical' ? 'red' : a.event.severity === 'warning' ? 'orange' : 'blue'}>{a.event.severity || 'info'}</Tag>
                    <span>{new Date(a.event.wall_time || Date.now()).toLocaleTimeString()}</span>
                    <b>{a.event.kind}</b>
                    <Link to={`/records/${encodeURIComponent(a.room)}`}>{a.room}</Link>
                    <Typography.Text type="secondary">{a.tenant}</Typography.Text>
                  </Space>
                </List.Item>
              )} />
          </Card>
        </Col>
      </Row>
    </div>
  );
}
