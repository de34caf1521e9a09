import { useEffect, useRef, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { Alert, Button, Card, Checkbox, Form, Input, Radio, Result, Space, Statistic, Typography } from 'antd';
import { api } from '../api';
import { useT } from '../i18n';
import { CallClient, ChatMessage, StatsMsg, joinRoom, trackStream } from '../call';
import { Vid } from '../desk/Stage';
import ChatPanel from '../desk/Chat';
import NetStatus from '../desk/NetStatus';

type Pos = { ticket_id: string; state: string; position: number; queue_length: number; estimated_wait_ns: number };
type Joined = { id: string; token: string; audioOnly?: boolean };

// The customer's mobile (H5) page: join the queue, live position and wait
// from the ticket's server-sent events, leave. Once an agent answers: the
// call (mute, front/back camera, audio-only, network, chat and files,
// hold notice), then a 1-5 rating. Query: ?tenant=&business=(&customer=).
// The ticket survives a reload of the tab.
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
  const sources = useRef(new Map<string, string>());
  const remoteTracks = useRef(new Map<string, string>()); // remote video track id → publisher
  const token = useRef('');
  const [remote, setRemote] = useState<MediaStream | null>(null);
  const [remoteScreen, setRemoteScreen] = useState<MediaStream | null>(null);
  const [local, setLocal] = useState<MediaStream | null>(null);
  const [inRoom, setInRoom] = useState(false);
  const [muted, setMuted] = useState(false);
  const [camOff, setCamOff] = useState(false);
  const [audioOnly, setAudioOnlyState] = useState(false);
  const audioOnlyRef = useRef(false);
  const setAudioOnly = (v: boolean) => { audioOnlyRef.current = v; setAudioOnlyState(v); };
  const [facing, setFacing] = useState<'user' | 'environment'>('user');
  const [hold, setHold] = useState(false);
  const [stats, setStats] = useState<StatsMsg | null>(null);
  const [msgs, setMsgs] = useState<ChatMessage[]>([]);
  const [rating, setRating] = useState(0);
  const [rated, setRated] = useState(false);

  const hangUp = () => {
    try { client.current?.close(); } catch { /* closed */ }
    client.current = null;
    setLocal((s) => { s?.getTracks().forEach((x) => x.stop()); return null; });
    setInRoom(false); setHold(false);
  };
  useEffect(() => () => hangUp(), []);
  const onEvent = (type: string, data: any) => {
    switch (type) {
      case 'joined': for (const tr of data.tracks || []) sources.current.set(tr.id, tr.source); break;
      case 'track': sources.current.set(data.id, data.source); break;
      case 'track_gone': remoteTracks.current.delete(data.id); if (data.source === 'screen') setRemoteScreen(null); break;
      case 'stats': setStats(data); break;
      case 'chat': setMsgs((m) => [...m, data]); break;
      case 'ok': if (data && data.kind === 'file' && data.id) setMsgs((m) => [...m, data]); break; // own file message (no ref)
      case 'hold_state': setHold(!!data.on); break;
    }
  };
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
        token.current = jt.token;
        setInRoom(true);
        const j = await joinRoom(jt.token, jt.ws_url, (tr, st) => {
          if (tr.kind !== 'video') return;
          remoteTracks.current.set(tr.id, st.id);
          // Audio only: a video track arriving later is switched off too.
          if (audioOnlyRef.current && client.current) (client.current as any).send('subscribe', { participant: st.id, track_id: tr.id, enabled: false }).catch(() => {});
          if (sources.current.get(tr.id) === 'screen') setRemoteScreen(trackStream(tr, st)); else setRemote(trackStream(tr, st));
        }, onEvent, { audioOnly: !!ticket.audioOnly });
        if (ticket.audioOnly) audioOnlyRef.current = true;
        if (cancelled) { j.client.close(); j.stream.getTracks().forEach((x) => x.stop()); return; }
        client.current = j.client; setLocal(j.stream);
        if (ticket.audioOnly) { setAudioOnly(true); await subscribeVideo(false); }
      } catch (e: any) { setErr(e.message); setInRoom(false); }
    })();
    return () => { cancelled = true; };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [connected, ticket]);
  useEffect(() => { if (final) hangUp(); }, [final]);

  // subscribeVideo turns receiving the other side's video off or on
  // (protocol subscribe per publisher), so audio-only saves bandwidth
  // both ways.
  const subscribeVideo = async (on: boolean) => {
    const c = client.current as any;
    if (!c) return;
    // Per video track: without track_id the server would switch off the
    // publisher's audio too.
    for (const [track, p] of remoteTracks.current) { try { await c.send('subscribe', { participant: p, track_id: track, enabled: on }); } catch { /* gone */ } }
  };
  const camera = async (f: 'user' | 'environment') => {
    const s = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360, facingMode: f } });
    return s.getVideoTracks()[0];
  };
  // The preview shows the client's own stream (its tracks change with a
  // camera switch); a new MediaStream object makes the <video> reload.
  const refreshLocal = () => { const st = client.current?.stream; if (st) setLocal(new MediaStream(st.getTracks())); };
  const guard = async (f: () => Promise<void>) => { setErr(''); try { await f(); } catch (e: any) { setErr(e.message); } };
  // Front/back: on phones facingMode picks the camera; where there is one
  // camera only (desktops, the test's fake device) the same one returns.
  const switchCamera = () => guard(async () => {
    const f = facing === 'user' ? 'environment' : 'user';
    const tr = await camera(f);
    await client.current!.replaceTrack('video', tr);
    setFacing(f);
    refreshLocal();
  });
  const toggleAudioOnly = () => guard(async () => {
    const c = client.current!;
    const own = c.stream!;
    if (!audioOnly) {
      await c.mute('video', true);
      own.getVideoTracks().forEach((x) => x.stop()); // release the camera
      await subscribeVideo(false);
      setAudioOnly(true);
      return;
    }
    if (own.getVideoTracks().length) await c.replaceTrack('video', await camera(facing));
    else { const tr = await camera(facing); own.addTrack(tr); await c.publishTrack(tr, 'camera', own); }
    await c.mute('video', false);
    await subscribeVideo(true);
    setCamOff(false); setAudioOnly(false);
    refreshLocal();
  });

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

  const join = async (v: { customer: string; business: string; audioOnly: boolean }) => {
    setBusy(true); setErr(''); setFinal(''); setRated(false); setRating(0); setMsgs([]);
    try {
      const r = await api('POST', '/api/v1/queue/join', { tenant_id: tenant, customer_id: v.customer, channel: 'h5', business: v.business }, '');
      const j = { id: r.ticket.id, token: r.token, audioOnly: !!v.audioOnly };
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
  const reset = () => { stopStream(); sessionStorage.removeItem('witness.ticket'); setTicket(null); setPos(null); setFinal(''); setRemote(null); setRemoteScreen(null); };
  const rate = () => guard(async () => {
    await api('POST', `/api/v1/queue/tickets/${encodeURIComponent(ticket!.id)}/rating?token=${encodeURIComponent(ticket!.token)}`, { rating }, '');
    setRated(true);
  });

  const wait = pos ? Math.round(pos.estimated_wait_ns / 1e9) : 0;
  return (
    <main style={{ maxWidth: 480, margin: '0 auto', padding: 12, minHeight: '100vh', background: '#f5f7fa' }}>
      <Space style={{ width: '100%', justifyContent: 'space-between', marginBottom: 12 }}>
        <Typography.Title level={1} style={{ fontSize: 20, margin: 0 }}>{t('appName')}</Typography.Title>
        {extra}
      </Space>
      {err && <Alert type="error" showIcon message={err} style={{ marginBottom: 12 }} role="alert" closable onClose={() => setErr('')} />}
      {!ticket && (
        <Card>
          <Form layout="vertical" onFinish={join} requiredMark={false} initialValues={{ business: q.get('business') || 'open', customer: q.get('customer') || '', audioOnly: false }}>
            <Form.Item label={t('customerId')} name="customer" rules={[{ required: true, message: t('required') }]}><Input autoComplete="off" /></Form.Item>
            <Form.Item label={t('business')} name="business" rules={[{ required: true, message: t('required') }]}><Input /></Form.Item>
            <Form.Item name="audioOnly" valuePropName="checked"><Checkbox>{t('audioOnlyJoin')}</Checkbox></Form.Item>
            <Button type="primary" htmlType="submit" size="large" block loading={busy}>{t('joinQueue')}</Button>
          </Form>
        </Card>
      )}
      {ticket && !final && (
        <Card data-testid="queue-card" styles={{ body: { padding: 12 } }}>
          {pos?.state === 'ringing' && <Alert type="info" message={t('ringing')} style={{ marginBottom: 12 }} />}
          {pos?.state === 'connected' && <Alert type="success" message={t(inRoom ? 'inRoom' : 'connected')} style={{ marginBottom: 12 }} />}
          {inRoom && (
            <div data-testid="customer-call">
              {hold && <Alert type="warning" showIcon message={t('onHold')} style={{ marginBottom: 8 }} data-testid="customer-hold" role="status" />}
              {audioOnly && <Alert type="info" message={t('audioOnlyOn')} style={{ marginBottom: 8 }} data-testid="audio-only-banner" />}
              <div style={{ position: 'relative', display: audioOnly ? 'none' : 'block' }}>
                <div style={{ aspectRatio: '4/3', background: '#000' }}>
                  <Vid tile={{ key: 'remote', stream: remote, label: t('remoteVideo'), testid: 'customer-remote-video' }} />
                </div>
                <div style={{ position: 'absolute', right: 8, bottom: 8, width: '32%', aspectRatio: '4/3', border: '2px solid #fff', background: '#000' }}>
                  <Vid tile={{ key: 'local', stream: local, label: t('localVideo'), testid: 'customer-local-video', muted: true, mirror: facing === 'user' }} />
                </div>
              </div>
              {remoteScreen && !audioOnly && <div style={{ aspectRatio: '16/9', background: '#000', marginTop: 8 }}><Vid tile={{ key: 'rs', stream: remoteScreen, label: t('remoteScreen'), testid: 'customer-remote-screen', muted: true }} /></div>}
              <div style={{ marginTop: 8 }}><NetStatus stats={stats} me={client.current?.me} compact /></div>
              <Space wrap style={{ width: '100%', justifyContent: 'center', marginTop: 8 }}>
                <Button aria-pressed={muted} onClick={() => { const m = !muted; setMuted(m); client.current?.mute('audio', m); }}>{muted ? t('unmute') : t('mute')}</Button>
                {!audioOnly && <Button aria-pressed={camOff} onClick={() => { const m = !camOff; setCamOff(m); client.current?.mute('video', m); }}>{camOff ? t('cameraOn') : t('cameraOff')}</Button>}
                {!audioOnly && <Button onClick={switchCamera} data-testid="switch-camera" data-facing={facing} aria-label={t('switchCamera')}>{t('switchCamera')} ({t(facing === 'user' ? 'cameraFront' : 'cameraBack')})</Button>}
                <Button onClick={toggleAudioOnly} aria-pressed={audioOnly} data-testid="audio-only">{audioOnly ? t('audioOnlyOff') : t('audioOnly')}</Button>
                <Button danger onClick={hangUp}>{t('hangUp')}</Button>
              </Space>
              <Card size="small" title={t('deskChat')} style={{ marginTop: 8 }}>
                <ChatPanel client={client.current} msgs={msgs} me={client.current?.me} token={token.current} accept=".jpg,.jpeg,.png" testid="customer-chat" onSent={(m) => setMsgs((x) => [...x, m])} />
              </Card>
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
      {final === 'ended' && ticket && (
        <Card title={t('rateTitle')} data-testid="rating">
          {rated ? <Alert type="success" showIcon message={t('rateThanks')} data-testid="rated" /> : (
            <Space direction="vertical" style={{ width: '100%' }}>
              <Radio.Group aria-label={t('rateTitle')} value={rating} onChange={(e) => setRating(e.target.value)} optionType="button" buttonStyle="solid"
                options={[1, 2, 3, 4, 5].map((n) => ({ value: n, label: <span aria-label={`${n} ${t('rateStar')}`}>{n} ★</span> }))} />
              <Button type="primary" block disabled={!rating} onClick={rate} data-testid="rate-submit">{t('rateSubmit')}</Button>
            </Space>
          )}
        </Card>
      )}
    </main>
  );
}
