import { useCallback, useEffect, useState } from 'react';
import { Alert, Button, Card, Col, Row, Statistic } from 'antd';
import { api } from '../api';
import { useStateName, useT } from '../i18n';
import Bar from '../Chart';

type Agent = { id: string; name?: string; state: string; queues: string[] };
type Ticket = { id: string; queue: string; state: string };
type Rec = { id: string; status: string; wait_ms: number; agent_id: string; business: string };

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
  // §4.3.1: calls per agent, outcomes per business, answered vs missed.
  const took = recs.filter((r) => r.agent_id && (r.status === 'in_call' || r.status === 'ended'));
  const missed = recs.filter((r) => r.status === 'abandoned' || r.status === 'timeout');
  // Agents by the name they signed in with (supervisors may not list users).
  const agentName = Object.fromEntries(agents.map((a) => [a.id, a.name || a.id]));
  const perAgent = tally(took.map((r) => agentName[r.agent_id] || r.agent_id));
  const businesses = [...new Set(recs.map((r) => r.business || '-'))];
  const perBiz = (list: Rec[]) => businesses.map((b) => list.filter((r) => (r.business || '-') === b).length);
  const ratio = took.length + missed.length ? (100 * took.length) / (took.length + missed.length) : 0;
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
        <Col xs={24} lg={8}><Card title={t('dbAnswerRatio')}>
          <Statistic data-testid="answer-ratio" value={ratio} precision={1} suffix="%" />
          <div>{t('dbAnswered')} {took.length} · {t('dbMissed')} {missed.length}</div></Card></Col>
        <Col xs={24} lg={8}><Card title={t('dbPerAgent')}>
          <Bar testId="chart-per-agent" ariaLabel={t('dbPerAgent')} name={t('dbAnswered')} labels={perAgent.labels} values={perAgent.values} /></Card></Col>
        <Col xs={24} lg={8}><Card title={t('dbByBusiness')}>
          <Bar testId="chart-business" ariaLabel={t('dbByBusiness')} name={t('dbAnswered')} labels={businesses} values={perBiz(took)}
            extra={{ name: t('dbMissed'), values: perBiz(missed), color: '#ff4d4f' }} /></Card></Col>
      </Row>
    </div>
  );
}
