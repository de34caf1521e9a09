import { useContext, useEffect, useRef, useState } from 'react';
import { Alert, Button, Card, Checkbox, Col, Descriptions, Form, Input, List, Modal, Row, Segmented, Select, Space, Tag, Typography, message } from 'antd';
import { api, sse } from '../api';
import { LangContext, stateNames, useStateName, useT } from '../i18n';
import { useMe } from '../me';
import { CallClient, ChatMessage, StatsMsg, beep, joinRoom, trackStream } from '../call';
import Stage, { Layout, Tile } from '../desk/Stage';
import ChatPanel from '../desk/Chat';
import NetStatus from '../desk/NetStatus';
import { scriptFor, summaryOptions } from '../desk/scripts';

type Ticket = { id: string; customer_id: string; business: string; queue: string; state: string; agent_id?: string; joined_at?: string; vip?: boolean; channel?: string };
type Ev = { kind: string; ticket?: Ticket; change?: { agent_id: string; to: string } };
type AlertEv = { kind: string; severity?: string; onset?: string; wall_time?: string; identity?: string; participant?: string };
type Rec = { id: string; business: string; status: string; customer_id: string; queued_at: string; summary: string; customer_tags: string[]; rating: number };

const settable = ['idle', 'busy', 'break', 'meeting', 'meal', 'paused', 'signed_out'];
const rotations = [0, 90, 180, 270];

// The agent desk: sign in to queues, switch state, take the ringing
// customer (agent events stream; ring tone and the customer's history),
// the call view (layouts, rotation, hold, snapshots, recording segments,
// screen share, chat and files, business script, network, live alerts),
// then the wrap-up form.
export default function Desk() {
  const t = useT();
  const { lang } = useContext(LangContext);
  const L = (p: [string, string]) => p[lang === 'zh' ? 0 : 1];
  const sn = useStateName();
  const me = useMe();
  const [state, setState] = useState('signed_out');
  const [ringing, setRinging] = useState<Ticket | null>(null);
  const [history, setHistory] = useState<Rec[] | null>(null);
  const [call, setCall] = useState<Ticket | null>(null);
  const [wrap, setWrap] = useState<Ticket | null>(null);
  const [err, setErr] = useState('');
  const [alerts, setAlerts] = useState<AlertEv[]>([]);
  const [tones, setTones] = useState(0);
  const [muted, setMuted] = useState(false);
  const [camOff, setCamOff] = useState(false);
  const [remote, setRemote] = useState<MediaStream | null>(null);
  const [remoteScreen, setRemoteScreen] = useState<MediaStream | null>(null);
  const [localStream, setLocalStream] = useState<MediaStream | null>(null);
  const [screen, setScreen] = useState<MediaStream | null>(null);
  const [layout, setLayout] = useState<Layout>('pip');
  const [swapped, setSwapped] = useState(false);
  const [rotation, setRotation] = useState(0);
  const [hold, setHold] = useState(false);
  const [rec, setRec] = useState<{ segment: number; state: string } | null>(null);
  const [stats, setStats] = useState<StatsMsg | null>(null);
  const [msgs, setMsgs] = useState<ChatMessage[]>([]);
  const [shots, setShots] = useState<{ url: string; at: string; stored: boolean }[]>([]);
  const [step, setStep] = useState(0);
  const [markLabel, setMarkLabel] = useState('');
  const [now, setNow] = useState(Date.now());
  const [wrapDone, setWrapDone] = useState(false);
  const callStart = useRef(0);
  const callRef = useRef<Ticket | null>(null);
  callRef.current = call;
  const client = useRef<CallClient | null>(null);
  const token = useRef('');
  const sources = useRef(new Map<string, string>());
  const screenSender = useRef<RTCRtpSender | null>(null);

  useEffect(() => {
    if (!me) return;
    const ac = new AbortController();
    const onEv = (_: string, ev: Ev) => {
      if (ev.change && ev.change.agent_id === me.id) setState(ev.change.to);
      if (ev.kind === 'ticket.ringing' && ev.ticket) setRinging(ev.ticket);
      if ((ev.kind === 'ticket.returned' || ev.kind === 'ticket.left' || ev.kind === 'ticket.timeout') && ev.ticket) setRinging((r) => (r && r.id === ev.ticket!.id ? null : r));
      // Ended elsewhere (a supervisor, the server): leave the room, go to wrap-up.
      const c = callRef.current;
      if (ev.kind === 'ticket.ended' && ev.ticket && c && c.id === ev.ticket.id) { teardown(); setWrap(c); setCall(null); }
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

  // Ringing: a two-tone ring every 1.5 s (WebAudio), the customer's
  // previous records (the API's customer filter; an agent sees its own
  // records) and a live wait clock.
  useEffect(() => {
    if (!ringing) { setHistory(null); return; }
    const ring = () => { beep(440, 350, 0.12); setTimeout(() => beep(480, 350, 0.12), 400); };
    ring();
    const iv = setInterval(ring, 1500);
    const clock = setInterval(() => setNow(Date.now()), 1000);
    api('GET', `/api/v1/records?customer=${encodeURIComponent(ringing.customer_id)}&limit=6`).then((r) => setHistory((r.records as Rec[]).filter((x) => x.id !== ringing.id))).catch(() => setHistory([]));
    return () => { clearInterval(iv); clearInterval(clock); };
  }, [ringing]);

  const guard = async (f: () => Promise<void>) => { setErr(''); try { await f(); } catch (e: any) { setErr(e.message); } };
  const signIn = (v: { queues: string }) => guard(async () => {
    const r = await api('POST', '/api/v1/agent/sign-in', { queues: v.queues.split(',').map((s) => s.trim()).filter(Boolean) });
    setState(r?.state || 'signed_in');
  });
  const setAgentState = (s: string) => guard(async () => { const r = await api('PUT', '/api/v1/agent/state', { state: s }); setState(r?.state || s); });

  const teardown = () => {
    try { client.current?.close(); } catch { /* closed */ }
    client.current = null;
    setLocalStream((s) => { s?.getTracks().forEach((x) => x.stop()); return null; });
    setScreen((s) => { s?.getTracks().forEach((x) => x.stop()); return null; });
    screenSender.current = null;
    setRemote(null); setRemoteScreen(null); setMuted(false); setCamOff(false); setHold(false); setStats(null); setRec(null);
  };
  const onEvent = (type: string, data: any) => {
    switch (type) {
      case 'alert':
        setAlerts((a) => [data, ...a].slice(0, 100));
        // A tone when an episode opens (higher and longer when critical), none for its end.
        if (!String(data.kind).endsWith('.end') && beep(data.severity === 'critical' ? 1320 : 880, data.severity === 'critical' ? 450 : 200)) setTones((n) => n + 1);
        break;
      case 'joined': for (const tr of data.tracks || []) sources.current.set(tr.id, tr.source); break;
      case 'track': sources.current.set(data.id, data.source); break;
      case 'track_gone': if (data.source === 'screen') setRemoteScreen(null); break;
      case 'stats': setStats(data); break;
      case 'chat': setMsgs((m) => [...m, data]); break;
      case 'ok': if (data && data.kind === 'file' && data.id) setMsgs((m) => [...m, data]); break; // own file message (no ref)
      case 'hold_state': setHold(!!data.on); break;
      case 'recording': setRec({ segment: data.segment, state: data.state || 'recording' }); break;
    }
  };
  const answer = () => guard(async () => {
    const tk = ringing!;
    setRinging(null);
    await api('POST', '/api/v1/agent/answer', { ticket_id: tk.id });
    setCall(tk); setWrap(null); setWrapDone(false); setState('in_call'); callStart.current = Date.now();
    setMsgs([]); setShots([]); setAlerts([]); setTones(0); setStep(0); setRotation(0); setSwapped(false);
    const tokens = await api('POST', `/rtc/calls/${encodeURIComponent(tk.id)}/tokens`);
    token.current = tokens.agent_token;
    const j = await joinRoom(tokens.agent_token, tokens.ws_url,
      (tr, st) => {
        if (tr.kind !== 'video') return;
        if (sources.current.get(tr.id) === 'screen') setRemoteScreen(trackStream(tr, st)); else setRemote(trackStream(tr, st));
      }, onEvent);
    client.current = j.client;
    setLocalStream(j.stream);
  });
  const decline = () => guard(async () => { const tk = ringing!; setRinging(null); await api('POST', '/api/v1/agent/decline', { ticket_id: tk.id }); });
  const hangUp = () => guard(async () => { const tk = call!; teardown(); setCall(null); setWrap(tk); await api('POST', '/api/v1/agent/end', { ticket_id: tk.id }); });
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
  const toggleHold = () => guard(async () => { await client.current?.hold(!hold); });
  const segment = (action: 'start' | 'stop') => guard(async () => {
    await client.current?.record(action);
    message.success(t(action === 'start' ? 'recStarted' : 'recStopped'));
  });
  // Snapshot: the customer's current frame drawn to a canvas (as the
  // agent sees it, rotation included), downloaded as PNG and stored in
  // the room as a private file (file_offer to oneself: kept in the
  // session record, not shown to the customer).
  const snapshot = () => guard(async () => {
    const v = document.querySelector<HTMLVideoElement>('[data-testid="remote-video"]');
    if (!v || !v.videoWidth) throw new Error(t('snapNoVideo'));
    const quarter = rotation % 180 !== 0;
    const c = document.createElement('canvas');
    c.width = quarter ? v.videoHeight : v.videoWidth; c.height = quarter ? v.videoWidth : v.videoHeight;
    const g = c.getContext('2d')!;
    g.translate(c.width / 2, c.height / 2); g.rotate((rotation * Math.PI) / 180);
    g.drawImage(v, -v.videoWidth / 2, -v.videoHeight / 2);
    const blob: Blob = await new Promise((res, rej) => c.toBlob((b) => (b ? res(b) : rej(new Error('canvas'))), 'image/png'));
    const at = new Date();
    const name = `snapshot_${call!.id}_${at.toISOString().replace(/[:.]/g, '-')}.png`;
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a'); a.href = url; a.download = name; document.body.appendChild(a); a.click(); a.remove();
    let stored = false;
    if (client.current?.me) { await client.current.sendFile(new File([blob], name, { type: 'image/png' }), client.current.me); stored = true; }
    setShots((s) => [{ url, at: at.toLocaleTimeString(), stored }, ...s]);
  });
  const toggleScreen = () => guard(async () => {
    if (screen) {
      if (screenSender.current) await client.current?.unpublishTrack(screenSender.current);
      screenSender.current = null;
      screen.getTracks().forEach((x) => x.stop()); setScreen(null);
      return;
    }
    const s = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    const tr = s.getVideoTracks()[0];
    screenSender.current = await client.current!.publishTrack(tr, 'screen', s);
    tr.onended = () => { if (screenSender.current) client.current?.unpublishTrack(screenSender.current).catch(() => {}); screenSender.current = null; setScreen(null); };
    setScreen(s);
  });

  const [form] = Form.useForm();
  const submitWrap = (v: { summary: string; options: string[]; tags: string[] }) => guard(async () => {
    const id = wrap!.id;
    // No rating: the customer's (given before or after) is kept.
    await api('PUT', `/api/v1/records/${encodeURIComponent(id)}/summary`, { summary: v.summary || '', summary_options: v.options || [], customer_tags: v.tags || [] });
    const me2 = client.current?.me;
    const lines = msgs.filter((m) => m.kind === 'text' && m.text && !m.recalled).map((m) => ({ at: m.time, from: m.from_role === 'agent' || m.from === me2 ? (me?.username || 'agent') : wrap!.customer_id, text: m.text }));
    if (lines.length && !wrapDone) await api('POST', `/api/v1/records/${encodeURIComponent(id)}/items`, { chat: lines });
    setWrapDone(true);
    message.success(t('wrapSaved'));
  });

  const tiles: Tile[] = [
    { key: 'remote', stream: remote, label: t('remoteVideo'), testid: 'remote-video', rotate: rotation },
    { key: 'local', stream: localStream, label: t('localVideo'), testid: 'local-video', muted: true },
  ];
  if (swapped) tiles.reverse();
  if (remoteScreen) tiles.push({ key: 'rscreen', stream: remoteScreen, label: t('remoteScreen'), testid: 'remote-screen', muted: true });
  if (screen) tiles.push({ key: 'screen', stream: screen, label: t('myScreen'), testid: 'local-screen', muted: true });
  const script = call ? scriptFor(call.business) : [];
  const waited = ringing?.joined_at ? Math.max(0, Math.round((now - new Date(ringing.joined_at).getTime()) / 1000)) : 0;
  const tags = history ? [...new Set(history.flatMap((h) => h.customer_tags || []))] : [];

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
              <div style={{ marginBottom: 8 }}><NetStatus stats={stats} me={client.current?.me} compact /></div>
              {hold && <Alert type="warning" showIcon message={t('onHold')} style={{ marginBottom: 8 }} data-testid="hold-banner" role="status" />}
              <Space wrap style={{ marginBottom: 8 }}>
                <Segmented aria-label={t('deskLayout')} value={layout} onChange={(v) => setLayout(v as Layout)} data-testid="layout"
                  options={[{ value: 'pip', label: t('layoutPip') }, { value: 'split', label: t('layoutSplit') }, { value: 'grid', label: t('layoutGrid') }]} />
                <Button onClick={() => setSwapped((s) => !s)} aria-pressed={swapped} aria-label={t('swapMain')}>{t('swapMain')}</Button>
                <Button onClick={() => setRotation((r) => rotations[(rotations.indexOf(r) + 1) % 4])} aria-label={t('deskRotate')} data-testid="rotate">{t('deskRotate')} {rotation}°</Button>
              </Space>
              <Stage layout={layout} tiles={tiles} />
              <Space wrap style={{ marginTop: 12 }}>
                <Button onClick={toggleMute} aria-pressed={muted}>{muted ? t('unmute') : t('mute')}</Button>
                <Button onClick={toggleCam} aria-pressed={camOff}>{camOff ? t('cameraOn') : t('cameraOff')}</Button>
                <Button onClick={toggleHold} aria-pressed={hold} data-testid="hold">{hold ? t('holdOff') : t('holdOn')}</Button>
                <Button onClick={snapshot} data-testid="snapshot">{t('deskSnapshot')}</Button>
                <Button onClick={() => segment('stop')} data-testid="rec-stop">{t('recStop')}</Button>
                <Button onClick={() => segment('start')} data-testid="rec-start">{t('recStart')}</Button>
                <Button onClick={toggleScreen} aria-pressed={!!screen} data-testid="screen-share">{screen ? t('screenStop') : t('screenShare')}</Button>
                <Button danger type="primary" onClick={hangUp}>{t('hangUp')}</Button>
              </Space>
              <div style={{ marginTop: 8 }}>
                <Typography.Text type="secondary" data-testid="rec-status" data-segment={rec?.segment ?? ''} data-state={rec?.state ?? ''}>
                  {rec ? `${t('deskRecLabel')}: ${t('recSegment')} ${rec.segment} · ${rec.state === 'stopping' ? t('recStateStopped') : t('recStateOn')}` : t('recUnknown')}
                </Typography.Text>
              </div>
              <Space.Compact style={{ marginTop: 12, width: '100%', maxWidth: 420 }}>
                <Input aria-label={t('markerLabel')} placeholder={t('markerLabel')} value={markLabel} onChange={(e) => setMarkLabel(e.target.value)} onPressEnter={addMarker} />
                <Button onClick={addMarker}>{t('addMarker')}</Button>
              </Space.Compact>
              {shots.length > 0 && (
                <div style={{ marginTop: 12 }} data-testid="snapshots" aria-label={t('deskSnapshots')}>
                  <Typography.Text type="secondary">{t('deskSnapshots')}</Typography.Text>
                  <Space wrap>{shots.map((s) => (
                    <figure key={s.url} style={{ margin: 0 }}>
                      <img src={s.url} alt={`${t('deskSnapshot')} ${s.at}`} data-testid="snapshot-img" data-stored={s.stored ? '1' : '0'} style={{ width: 120, border: '1px solid #ddd' }} />
                      <figcaption style={{ fontSize: 12 }}>{s.at}{s.stored ? ' · ' + t('snapStored') : ''}</figcaption>
                    </figure>
                  ))}</Space>
                </div>
              )}
            </Card>
          )}
          {!call && wrap && (
            <Card style={{ marginTop: 16 }} title={`${t('wrapUpTitle')} · ${wrap.customer_id} · ${wrap.business}`} data-testid="wrapup">
              {wrapDone && <Alert type="success" showIcon message={t('wrapSaved')} style={{ marginBottom: 8 }} data-testid="wrapup-done" />}
              <Form form={form} layout="vertical" onFinish={submitWrap} initialValues={{ summary: '', options: [], tags: [] }}>
                <Form.Item label={t('wrapSummary')} name="summary" rules={[{ required: true, message: t('required') }]}><Input.TextArea rows={3} maxLength={2000} /></Form.Item>
                <Form.Item label={t('wrapOptions')} name="options"><Checkbox.Group options={summaryOptions.map((o) => ({ value: L(o), label: L(o) }))} /></Form.Item>
                <Form.Item label={t('wrapTags')} name="tags"><Select mode="tags" aria-label={t('wrapTags')} placeholder={t('wrapTagsHint')} notFoundContent={null} open={false} tokenSeparators={[',', '，']} /></Form.Item>
                <Space><Button type="primary" htmlType="submit" data-testid="wrapup-submit">{t('wrapSubmit')}</Button>
                  <Button onClick={() => { setWrap(null); form.resetFields(); }}>{t('wrapClose')}</Button></Space>
              </Form>
            </Card>
          )}
        </Col>
        <Col xs={24} lg={8}>
          <Card title={t('alerts')} data-testid="alerts-card" data-tones={tones}>
            <List size="small" locale={{ emptyText: t('noAlerts') }} dataSource={alerts} data-testid="alerts"
              renderItem={(a) => (
                <List.Item>
                  <Space wrap size={4}><Tag color={a.severity === 'critical' ? 'red' : a.severity === 'warning' ? 'orange' : 'blue'}>{a.severity || 'info'}</Tag>
                    <span>{new Date(a.onset || a.wall_time || Date.now()).toLocaleTimeString()}</span><span>{a.kind}</span><span>{a.identity || a.participant}</span></Space>
                </List.Item>
              )} />
          </Card>
          {call && (
            <Card title={t('deskScript')} style={{ marginTop: 16 }} data-testid="script" size="small"
              extra={<Space><Button size="small" disabled={step <= 0} onClick={() => setStep(step - 1)} aria-label={t('scriptPrev')}>‹</Button>
                <span>{step + 1}/{script.length}</span>
                <Button size="small" disabled={step >= script.length - 1} onClick={() => setStep(step + 1)} aria-label={t('scriptNext')}>›</Button></Space>}>
              <ol style={{ paddingLeft: 18, margin: 0 }}>
                {script.map((s, i) => <li key={i} style={{ fontWeight: i === step ? 600 : 400, color: i === step ? undefined : '#888' }} aria-current={i === step ? 'step' : undefined}>{L(s)}</li>)}
              </ol>
            </Card>
          )}
          {call && (
            <Card title={t('deskChat')} style={{ marginTop: 16 }} size="small">
              <ChatPanel client={client.current} msgs={msgs} me={client.current?.me} token={token.current} accept=".pdf,.doc,.docx,.ppt,.pptx,.jpg,.jpeg,.png" testid="desk-chat" onSent={(m) => setMsgs((x) => [...x, m])} />
            </Card>
          )}
        </Col>
      </Row>
      <Modal open={!!ringing} title={t('incoming')} closable={false} maskClosable={false}
        footer={[<Button key="d" onClick={decline}>{t('decline')}</Button>, <Button key="a" type="primary" onClick={answer} data-testid="answer">{t('answer')}</Button>]}>
        {ringing && (
          <div data-testid="incoming-info">
            <p>{ringing.customer_id} · {ringing.business} · {ringing.queue}</p>
            <Descriptions size="small" column={1} bordered labelStyle={{ whiteSpace: "nowrap" }}>
              <Descriptions.Item label={t('customerId')}>{ringing.customer_id} {ringing.vip && <Tag color="gold">VIP</Tag>}</Descriptions.Item>
              <Descriptions.Item label={t('deskQueue')}>{ringing.queue}</Descriptions.Item>
              <Descriptions.Item label={t('deskWaited')}><span data-testid="waited">{waited}</span> {t('seconds')}</Descriptions.Item>
              <Descriptions.Item label={t('deskCustomerTags')}>{tags.length ? tags.map((x) => <Tag key={x}>{x}</Tag>) : <Typography.Text type="secondary">{t('deskNone')}</Typography.Text>}</Descriptions.Item>
              <Descriptions.Item label={t('deskHistory')}>
                {history === null ? '…' : history.length === 0 ? <Typography.Text type="secondary">{t('noHistory')}</Typography.Text> : (
                  <ul style={{ paddingLeft: 16, margin: 0 }} data-testid="history">
                    {history.slice(0, 5).map((h) => <li key={h.id}>{new Date(h.queued_at).toLocaleDateString()} · {h.business} · {h.status}{h.summary ? ' · ' + h.summary : ''}</li>)}
                  </ul>
                )}
              </Descriptions.Item>
            </Descriptions>
          </div>
        )}
      </Modal>
    </div>
  );
}
