import { useEffect, useRef, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { Alert, Button, Card, Form, Input, Result, Space, Statistic, Typography } from 'antd';
import { api } from '../api';
import { useT } from '../i18n';
import { CallClient, joinRoom } from '../call';

type Pos = { ticket_id: string; state: string; position: number; queue_length: number; estimated_wait_ns: number };
type Joined = { id: string; token: string };

// The customer's mobile (H5) page: join the queue, live position and wait
// from the ticket's server-sent events, leave. Query: ?tenant=&business=
// (&customer=). The ticket survives a reload of the tab.
export default function Customer({ extra }: { extra: React.ReactNode }) {
  const t = useT();
  const [q] = useSearchParams();
  const tenant = q.get('tenant') || 'province';
  const [ticket, setTicket] = useState<Joined | null>(() => { try { return JSON.parse(sessionStorage.getItem('witness.ticket') || 'null'); } catch { return null; } });
  const [pos, setPos] = useState<Pos | null>(null);
  const [final, setFinal] = useState('');
  const [err, setErr] = useState('');
  const [busy, setBusy] = useState(false);
  const es = useRef<EventSource | null>(null);
  const client = useRef<CallClient | null>(null);
  const stream = useRef<MediaStream | null>(null);
  const remoteV = useRef<HTMLVideoElement>(null);
  const localV = useRef<HTMLVideoElement>(null);
  const [inRoom, setInRoom] = useState(false);
  const [muted, setMuted] = useState(false);
  const [camOff, setCamOff] = useState(false);

  const hangUp = () => {
    try { client.current?.close(); } catch { /* closed */ }
    client.current = null;
    stream.current?.getTracks().forEach((x) => x.stop());
    stream.current = null;
    setInRoom(false);
  };
  useEffect(() => () => hangUp(), []);
  // Once an agent answered, join the room with the customer's own token
  // (GET /rtc/tickets/{id}/join with the ticket token; docs/wiring.md).
  const connected = pos?.state === 'connected' && !final;
  useEffect(() => {
    if (!connected || !ticket || client.current) return;
    let cancelled = false;
    (async () => {
      try {
        const r = await fetch(`/rtc/tickets/${encodeURIComponent(ticket.id)}/join?token=${encodeURIComponent(ticket.token)}`);
        if (!r.ok) throw new Error(`${r.status} ${await r.text()}`);
        const jt = await r.json();
        if (cancelled) return;
        setInRoom(true);
        const j = await joinRoom(jt.token, jt.ws_url, (st) => { if (remoteV.current) remoteV.current.srcObject = st; }, () => {});
        if (cancelled) { j.client.close(); j.stream.getTracks().forEach((x) => x.stop()); return; }
        client.current = j.client; stream.current = j.stream;
        if (localV.current) localV.current.srcObject = j.stream;
      } catch (e: any) { setErr(e.message); setInRoom(false); }
    })();
    return () => { cancelled = true; };
  }, [connected, ticket]);
  useEffect(() => { if (final) hangUp(); }, [final]);

  const stopStream = () => { es.current?.close(); es.current = null; };
  useEffect(() => {
    if (!ticket) return;
    const src = new EventSource(`/api/v1/queue/tickets/${encodeURIComponent(ticket.id)}/events?token=${encodeURIComponent(ticket.token)}`);
    es.current = src;
    src.addEventListener('position', (e) => {
      const p: Pos = JSON.parse((e as MessageEvent).data);
      setPos(p);
      if (p.state === 'left' || p.state === 'ended' || p.state === 'timeout') { setFinal(p.state); src.close(); }
    });
    src.addEventListener('gone', () => { src.close(); setFinal((f) => f || 'ended'); });
    return () => src.close();
  }, [ticket]);

  const join = async (v: { customer: string; business: string }) => {
    setBusy(true); setErr(''); setFinal('');
    try {
      const r = await api('POST', '/api/v1/queue/join', { tenant_id: tenant, customer_id: v.customer, channel: 'h5', business: v.business }, '');
      const j = { id: r.ticket.id, token: r.token };
      sessionStorage.setItem('witness.ticket', JSON.stringify(j));
      setPos(r.position); setTicket(j);
    } catch (e: any) { setErr(e.message); }
    setBusy(false);
  };
  const leave = async () => {
    if (!ticket) return;
    setBusy(true);
    stopStream();
    try { await api('POST', `/api/v1/queue/tickets/${encodeURIComponent(ticket.id)}/leave?token=${encodeURIComponent(ticket.token)}`, undefined, ''); setFinal('left'); }
    catch (e: any) { setErr(e.message); }
    sessionStorage.removeItem('witness.ticket');
    setBusy(false);
  };
  const reset = () => { stopStream(); sessionStorage.removeItem('witness.ticket'); setTicket(null); setPos(null); setFinal(''); };

  const wait = pos ? Math.round(pos.estimated_wait_ns / 1e9) : 0;
  return (
    <main style={{ maxWidth: 480, margin: '0 auto', padding: 12, minHeight: '100vh', background: '#f5f7fa' }}>
      <Space style={{ width: '100%', justifyContent: 'space-between', marginBottom: 12 }}>
        <Typography.Title level={1} style={{ fontSize: 20, margin: 0 }}>{t('appName')}</Typography.Title>
        {extra}
      </Space>
      {err && <Alert type="error" showIcon message={err} style={{ marginBottom: 12 }} role="alert" />}
      {!ticket && (
        <Card>
          <Form layout="vertical" onFinish={join} requiredMark={false} initialValues={{ business: q.get('business') || 'open', customer: q.get('customer') || '' }}>
            <Form.Item label={t('customerId')} name="customer" rules={[{ required: true, message: t('required') }]}><Input autoComplete="off" /></Form.Item>
            <Form.Item label={t('business')} name="business" rules={[{ required: true, message: t('required') }]}><Input /></Form.Item>
            <Button type="primary" htmlType="submit" size="large" block loading={busy}>{t('joinQueue')}</Button>
          </Form>
        </Card>
      )}
      {ticket && !final && (
        <Card data-testid="queue-card">
          {pos?.state === 'ringing' && <Alert type="info" message={t('ringing')} style={{ marginBottom: 12 }} />}
          {pos?.state === 'connected' && <Alert type="success" message={t(inRoom ? 'inRoom' : 'connected')} style={{ marginBottom: 12 }} />}
          {inRoom && (
            <div data-testid="customer-call">
              <video ref={remoteV} autoPlay playsInline aria-label={t('remoteVideo')} data-testid="customer-remote-video" style={{ width: '100%', background: '#000', aspectRatio: '4/3' }} />
              <video ref={localV} autoPlay playsInline muted aria-label={t('localVideo')} style={{ width: '35%', background: '#000', marginTop: 8 }} />
              <Space style={{ width: '100%', justifyContent: 'center', marginTop: 8 }}>
                <Button aria-pressed={muted} onClick={() => { const m = !muted; setMuted(m); client.current?.mute('audio', m); }}>{muted ? t('unmute') : t('mute')}</Button>
                <Button aria-pressed={camOff} onClick={() => { const m = !camOff; setCamOff(m); client.current?.mute('video', m); }}>{camOff ? t('cameraOn') : t('cameraOff')}</Button>
                <Button danger onClick={hangUp}>{t('hangUp')}</Button>
              </Space>
            </div>
          )}
          {!connected && <Space size="large" wrap style={{ width: '100%', justifyContent: 'space-around' }} aria-live="polite">
            <Statistic title={t('yourPosition')} value={pos?.position ?? '-'} valueStyle={{ fontSize: 40 }} data-testid="position" />
            <Statistic title={t('queueLength')} value={pos?.queue_length ?? '-'} />
            <Statistic title={t('estWait')} value={wait} suffix={t('seconds')} />
          </Space>}
          {!connected && <Button danger size="large" block style={{ marginTop: 16 }} onClick={leave} loading={busy}>{t('leaveQueue')}</Button>}
        </Card>
      )}
      {final && <Result status={final === 'ended' ? 'success' : 'info'} title={t(final)} extra={<Button onClick={reset}>{t('joinQueue')}</Button>} />}
    </main>
  );
}
