import { useRef, useState } from 'react';
import { Button, Input, List, Progress, Space, Typography } from 'antd';
import { useT } from '../i18n';
import { CallClient, ChatMessage } from '../call';

// ChatPanel: the room's chat and file transfer over the signaling socket
// (protocol chat / recall / file_offer / file_chunk). Messages live in the
// page (they arrive with the call's other events); files are downloaded
// from the signaling server with the page's own room token.
export default function ChatPanel({ client, msgs, me, token, accept, testid, onSent }: {
  client: CallClient | null; msgs: ChatMessage[]; me?: string; token: string; accept: string; testid: string; onSent: (m: ChatMessage) => void;
}) {
  const t = useT();
  const [text, setText] = useState('');
  const [progress, setProgress] = useState<number | null>(null);
  const [err, setErr] = useState('');
  const fileIn = useRef<HTMLInputElement>(null);
  const recalled = new Set(msgs.filter((m) => m.kind === 'recall' && m.recall).map((m) => m.recall!));
  const send = async () => {
    const v = text.trim();
    if (!v || !client) return;
    setErr('');
    try { onSent(await client.chat(v)); setText(''); } catch (e: any) { setErr(e.message); }
  };
  const sendFile = async (f: File) => {
    if (!client) return;
    setErr(''); setProgress(0);
    try { await client.sendFile(f, undefined, (r, n) => setProgress(Math.round((100 * r) / n))); }
    catch (e: any) { setErr(e.message); }
    setProgress(null);
  };
  // A file sent to oneself is a stored snapshot, not a chat line.
  const shown = msgs.filter((m) => m.kind !== 'recall' && !(m.kind === 'file' && m.to && m.to === m.from));
  return (
    <div data-testid={testid}>
      <List size="small" style={{ maxHeight: 240, overflow: 'auto' }} locale={{ emptyText: t('chatEmpty') }} dataSource={shown}
        aria-live="polite" aria-label={t('deskChat')}
        renderItem={(m) => {
          const mine = m.from === me;
          const gone = m.recalled || recalled.has(m.id);
          return (
            <List.Item style={{ justifyContent: mine ? 'flex-end' : 'flex-start' }} data-testid="chat-line" data-mine={mine ? '1' : '0'}>
              <Space direction="vertical" size={0} style={{ maxWidth: '85%', textAlign: mine ? 'right' : 'left' }}>
                <Typography.Text type="secondary" style={{ fontSize: 12 }}>{mine ? t('chatMe') : t('chatPeer')} · {new Date(m.time).toLocaleTimeString()}</Typography.Text>
                {gone ? <Typography.Text type="secondary" italic>{t('chatRecalled')}</Typography.Text>
                  : m.kind === 'file' && m.file ? (
                    <a href={`${m.file.url}?token=${encodeURIComponent(token)}`} download={m.file.name} data-testid="chat-file" data-sha256={m.file.sha256} aria-label={t('chatDownload') + ' ' + m.file.name}>
                      📎 {m.file.name} ({Math.max(1, Math.round(m.file.size / 1024))} KB)
                    </a>
                  ) : m.kind === 'link' ? <a href={m.url} target="_blank" rel="noreferrer">{m.text || m.url}</a>
                    : <span data-testid="chat-text">{m.text}</span>}
              </Space>
            </List.Item>
          );
        }} />
      {progress !== null && <Progress percent={progress} size="small" aria-label={t('chatUploading')} />}
      {err && <Typography.Text type="danger" role="alert">{err}</Typography.Text>}
      <Space.Compact style={{ width: '100%', marginTop: 8 }}>
        <Input aria-label={t('chatInput')} placeholder={t('chatInput')} value={text} onChange={(e) => setText(e.target.value)} onPressEnter={send} maxLength={2000} disabled={!client} />
        <Button onClick={send} disabled={!client} aria-label={t('chatSend')}>{t('chatSend')}</Button>
        <Button onClick={() => fileIn.current?.click()} disabled={!client || progress !== null} aria-label={t('chatFile')}>{t('chatFile')}</Button>
      </Space.Compact>
      <input ref={fileIn} type="file" accept={accept} hidden aria-label={t('chatFile')} data-testid={testid + '-file-input'}
        onChange={(e) => { const f = e.target.files?.[0]; e.target.value = ''; if (f) sendFile(f); }} />
    </div>
  );
}
