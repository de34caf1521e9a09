import { useCallback, useEffect, useState } from 'react';
import { Alert, Button, Card, Col, Row, Statistic } from 'antd';
import { api } from '../api';
import { useStateName, useT } from '../i18n';
import Bar from '../Chart';

type Agent = { id: string; state: string; queues: string[] };
type Ticket = { id: string; queue: string; state: string };
type Rec = { id: string; status: string; wait_ms: number };

function startOfToday() { const d = new Date(); d.setHours(0, 0, 0, 0); return d.toISOString(); }

function tally(keys: string[]) {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) || 0) + 1);
  return { labels: [...m.keys()], values: [...m.values()] };
}

// Today's wallboard: agents by state, queue load, today's calls; polled.
export default function Dashboard() {
  const t = useT();
  const sn = useStateName();
  const [agents, setAgents] = useState<Agent[]>([]);
  const [tickets, setTickets] = useState<Ticket[]>([]);
  const [recs, setRecs] = useState<Rec[]>([]);
  const [err, setErr] = useState('');
  const load = useCallback(async () => {
    try {
      const [a, tk, r] = await Promise.all([
        api('GET', '/api/v1/console/agents'),
        api('GET', '/api/v1/console/tickets'),
        api('GET', '/api/v1/records?from=' + encodeURIComponent(startOfToday()) + '&limit=1000'),
      ]);
      setAgents(a.agents); setTickets(tk.tickets); setRecs(r.records); setErr('');
    } catch (e: any) { setErr(e.message); }
  }, []);
  useEffect(() => { load(); const i = setInterval(load, 5000); return () => clearInterval(i); }, [load]);

  const byState = tally(agents.map((a) => sn(a.state)));
  const waiting = tickets.filter((x) => x.state === 'waiting');
  const byQueue = tally(waiting.map((x) => x.queue));
  const byStatus = tally(recs.map((r) => r.status));
  const answered = recs.filter((r) => r.wait_ms > 0);
  const avgWait = answered.length ? answered.reduce((s, r) => s + r.wait_ms, 0) / answered.length / 1000 : 0;
  return (
    <div data-testid="dashboard">
      {err && <Alert type="error" message={err} showIcon style={{ marginBottom: 16 }} />}
      <Row gutter={[16, 16]}>
        <Col xs={12} md={6}><Card><Statistic title={t('waiting')} value={waiting.length} /></Card></Col>
        <Col xs={12} md={6}><Card><Statistic title={t('inCall')} value={tickets.filter((x) => x.state === 'connected').length} /></Card></Col>
        <Col xs={12} md={6}><Card><Statistic title={t('agentsOnline')} value={agents.filter((a) => a.state !== 'signed_out').length} /></Card></Col>
        <Col xs={12} md={6}><Card><Statistic title={t('callsToday')} value={recs.length} suffix={<span style={{ fontSize: 12 }}> · {t('avgWait')} {avgWait.toFixed(1)}</span>} /></Card></Col>
        <Col xs={24} lg={8}><Card title={t('agentsByState')} extra={<Button size="small" onClick={load}>{t('refresh')}</Button>}>
          <Bar testId="chart-agents" ariaLabel={t('agentsByState')} name={t('count')} labels={byState.labels} values={byState.values} /></Card></Col>
        <Col xs={24} lg={8}><Card title={t('queueLoad')}>
          <Bar testId="chart-queues" ariaLabel={t('queueLoad')} name={t('waiting')} labels={byQueue.labels} values={byQueue.values} /></Card></Col>
        <Col xs={24} lg={8}><Card title={t('callsByStatus')}>
          <Bar testId="chart-calls" ariaLabel={t('callsByStatus')} name={t('count')} labels={byStatus.labels} values={byStatus.values} /></Card></Col>
      </Row>
    </div>
  );
}
