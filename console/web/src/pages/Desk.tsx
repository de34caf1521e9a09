import { useEffect, useRef, useState } from 'react';
import { Alert, Button, Card, Col, Form, Input, List, Modal, Row, Select, Space, Tag, Typography, message } from 'antd';
import { api, sse } from '../api';
import { stateNames, useStateName, useT } from '../i18n';
import { useMe } from '../me';
import { CallClient, joinRoom } from '../call';

type Ticket = { id: string; customer_id: string; business: string; queue: string; state: string; agent_id?: string };
type Ev = { kind: string; ticket?: Ticket; change?: { agent_id: string; to: string } };
type AlertEv = { kind: string; severity?: string; onset?: string; wall_time?: string; identity?: string; participant?: string };

const settable = ['idle', 'busy', 'break', 'meeting', 'meal', 'paused', 'signed_out'];

// The agent desk: sign in to queues, switch state, take the ringing
// customer (agent events stream), then the call view.
export default function Desk() {
  const t = useT();
  const sn = useStateName();
  const me = useMe();
  const [state, setState] = useState('signed_out');
  const [ringing, setRinging] = useState<Ticket | null>(null);
  const [call, setCall] = useState<Ticket | null>(null);
  const [err, setErr] = useState('');
  const [alerts, setAlerts] = useState<AlertEv[]>([]);
  const [muted, setMuted] = useState(false);
  const [camOff, setCamOff] = useState(false);
  const [remote, setRemote] = useState(false);
  const [markLabel, setMarkLabel] = useState('');
  const callStart = useRef(0);
  const local = useRef<HTMLVideoElement>(null);
  const remoteV = useRef<HTMLVideoElement>(null);
  const client = useRef<CallClient | null>(null);
  const stream = useRef<MediaStream | null>(null);

  useEffect(() => {
    if (!me) return;
    const ac = new AbortController();
    const onEv = (_: string, ev: Ev) => {
      if (ev.change && ev.change.agent_id === me.id) setState(ev.change.to);
      if (ev.kind === 'ticket.ringing' && ev.ticket) setRinging(ev.ticket);
      if ((ev.kind === 'ticket.returned' || ev.kind === 'ticket.left' || ev.kind === 'ticket.timeout') && ev.ticket) setRinging((r) => (r && r.id === ev.ticket!.id ? null : r));
      if (ev.kind === 'ticket.ended' && ev.ticket) setCall((c) => { if (c && c.id === ev.ticket!.id) { teardown(); return null; } return c; });
    };
    const run = async () => {
      while (!ac.signal.aborted) {
        try { await sse('/api/v1/agent/events', onEv, ac.signal); } catch { /* reconnect */ }
        if (!ac.signal.aborted) await new Promise((r) => setTimeout(r, 1000));
      }
    };
    run();
    return () => ac.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [me]);
  useEffect(() => () => teardown(), []);

  const guard = async (f: () => Promise<void>) => { setErr(''); try { await f(); } catch (e: any) { setErr(e.message); } };
  const signIn = (v: { queues: string }) => guard(async () => {
    const r = await api('POST', '/api/v1/agent/sign-in', { queues: v.queues.split(',').map((s) => s.trim()).filter(Boolean) });
    setState(r?.state || 'signed_in');
  });
  const setAgentState = (s: string) => guard(async () => { const r = await api('PUT', '/api/v1/agent/state', { state: s }); setState(r?.state || s); });

  const teardown = () => {
    try { client.current?.close(); } catch { /* closed */ }
    client.current = null;
    stream.current?.getTracks().forEach((x) => x.stop());
    stream.current = null;
    setRemote(false); setMuted(false); setCamOff(false);
  };
  const answer = () => guard(async () => {
    const tk = ringing!;
    setRinging(null);
    await api('POST', '/api/v1/agent/answer', { ticket_id: tk.id });
    setCall(tk); setState('in_call'); callStart.current = Date.now();
    const tokens = await api('POST', `/rtc/calls/${encodeURIComponent(tk.id)}/tokens`);
    const j = await joinRoom(tokens.agent_token, tokens.ws_url,
      (st) => { if (remoteV.current) { remoteV.current.srcObject = st; setRemote(true); } },
      (type, data) => { if (type === 'alert') setAlerts((a) => [data, ...a].slice(0, 100)); });
    client.current = j.client; stream.current = j.stream;
    if (local.current) local.current.srcObject = j.stream;
  });
  const decline = () => guard(async () => { const tk = ringing!; setRinging(null); await api('POST', '/api/v1/agent/decline', { ticket_id: tk.id }); });
  const hangUp = () => guard(async () => { const tk = call!; teardown(); setCall(null); await api('POST', '/api/v1/agent/end', { ticket_id: tk.id }); });
  // A manual timeline marker on the call's recording (markers API, record
  // id = ticket id); media time approximated from the answer.
  const addMarker = () => guard(async () => {
    const label = markLabel.trim() || t('marker');
    await api('POST', `/api/v1/markers/recordings/${encodeURIComponent(call!.id)}/markers`, { at_ms: Date.now() - callStart.current, label, author: me?.username || '' });
    setMarkLabel('');
    message.success(t('markerAdded') + ': ' + label);
  });
  const toggleMute = () => guard(async () => { const m = !muted; setMuted(m); await client.current?.mute('audio', m); });
  const toggleCam = () => guard(async () => { const m = !camOff; setCamOff(m); await client.current?.mute('video', m); });

  return (
    <div data-testid="desk">
      {err && <Alert type="error" showIcon message={err} style={{ marginBottom: 16 }} role="alert" closable onClose={() => setErr('')} />}
      <Row gutter={[16, 16]}>
        <Col xs={24} lg={16}>
          <Card title={t('desk')} extra={<Tag color={state === 'idle' ? 'green' : state === 'in_call' ? 'blue' : 'default'} data-testid="agent-state">{sn(state)}</Tag>}>
            <Space wrap align="end">
              <Form layout="inline" onFinish={signIn} initialValues={{ queues: '' }}>
                <Form.Item label={t('queues')} name="queues"><Input style={{ width: 150 }} /></Form.Item>
                <Button htmlType="submit">{t('signIn')}</Button>
              </Form>
              <label>
                <span style={{ marginRight: 8 }}>{t('state')}</span>
                <Select aria-label={t('state')} style={{ width: 140 }} value={settable.includes(state) ? state : null} placeholder={sn(state)}
                  onChange={setAgentState} options={settable.filter((s) => stateNames[s]).map((s) => ({ value: s, label: sn(s) }))} />
              </label>
            </Space>
          </Card>
          {call && (
            <Card style={{ marginTop: 16 }} title={`${t('inCall')} · ${call.customer_id} · ${call.business}`} data-testid="call-view">
              <Row gutter={8}>
                <Col xs={24} md={16}><Typography.Text type="secondary">{t('remoteVideo')}</Typography.Text>
                  <video ref={remoteV} autoPlay playsInline aria-label={t('remoteVideo')} data-testid="remote-video" data-playing={remote ? '1' : '0'} style={{ width: '100%', background: '#000', aspectRatio: '16/9' }} /></Col>
                <Col xs={24} md={8}><Typography.Text type="secondary">{t('localVideo')}</Typography.Text>
                  <video ref={local} autoPlay playsInline muted aria-label={t('localVideo')} style={{ width: '100%', background: '#000', aspectRatio: '16/9' }} /></Col>
              </Row>
              <Space style={{ marginTop: 12 }}>
                <Button onClick={toggleMute} aria-pressed={muted}>{muted ? t('unmute') : t('mute')}</Button>
                <Button onClick={toggleCam} aria-pressed={camOff}>{camOff ? t('cameraOn') : t('cameraOff')}</Button>
                <Button danger type="primary" onClick={hangUp}>{t('hangUp')}</Button>
              </Space>
              <Space.Compact style={{ marginTop: 12, width: '100%', maxWidth: 420 }}>
                <Input aria-label={t('markerLabel')} placeholder={t('markerLabel')} value={markLabel} onChange={(e) => setMarkLabel(e.target.value)} onPressEnter={addMarker} />
                <Button onClick={addMarker}>{t('addMarker')}</Button>
              </Space.Compact>
            </Card>
          )}
        </Col>
        <Col xs={24} lg={8}>
          <Card title={t('alerts')}>
            <List size="small" locale={{ emptyText: t('noAlerts') }} dataSource={alerts} data-testid="alerts"
              renderItem={(a) => (
                <List.Item>
                  <Space><Tag color={a.severity === 'critical' ? 'red' : a.severity === 'warning' ? 'orange' : 'blue'}>{a.severity || 'info'}</Tag>
                    <span>{new Date(a.onset || a.wall_time || Date.now()).toLocaleTimeString()}</span><span>{a.kind}</span><span>{a.identity || a.participant}</span></Space>
                </List.Item>
              )} />
          </Card>
        </Col>
      </Row>
      <Modal open={!!ringing} title={t('incoming')} closable={false} maskClosable={false}
        footer={[<Button key="d" onClick={decline}>{t('decline')}</Button>, <Button key="a" type="primary" onClick={answer} data-testid="answer">{t('answer')}</Button>]}>
        {ringing && <p>{ringing.customer_id} · {ringing.business} · {ringing.queue}</p>}
      </Modal>
    </div>
  );
}
