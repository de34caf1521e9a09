// The call client is signaling/web/witness.js (protocol v1), served by the
// signaling mount at /rtc/witness.js: loaded once and shared with the
// plain test pages so the protocol logic lives in one place.
let clientLoad: Promise<void> | null = null;

export function loadClient(): Promise<void> {
  if (!clientLoad) {
    clientLoad = new Promise((res, rej) => {
      const s = document.createElement('script');
      s.src = '/rtc/witness.js';
      s.onload = () => res();
      s.onerror = () => { clientLoad = null; rej(new Error('cannot load /rtc/witness.js')); };
      document.head.appendChild(s);
    });
  }
  return clientLoad;
}

// FileInfo and ChatMessage as the signaling server sends them (docs/signaling.md).
export type FileInfo = { id: string; name: string; mime: string; size: number; received: number; state: string; sha256?: string; from: string; to?: string; url?: string };
export type ChatMessage = { id: string; time: string; from: string; from_role: string; to?: string; kind: string; text?: string; url?: string; file?: FileInfo; recalled?: boolean; recall?: string };
export type TrackStats = { track: string; from?: string; kind: string; source: string; bitrate_kbps: number; packets: number; packets_lost: number; loss_pct: number; jitter_ms: number; rtt_ms?: number; fps?: number; width?: number; height?: number };
export type StatsMsg = { time: string; interval_ms: number; participants: { id: string; identity: string; state: string; rtt_ms: number; up: TrackStats[]; down: TrackStats[] }[] };

export type CallClient = {
  me?: string;
  stream?: MediaStream;
  connect(s: MediaStream): Promise<unknown>;
  mute(kind: 'audio' | 'video', muted: boolean): Promise<unknown>;
  chat(text: string, to?: string): Promise<ChatMessage>;
  hold(on: boolean): Promise<unknown>;
  record(action: 'start' | 'stop'): Promise<unknown>;
  publishTrack(track: MediaStreamTrack, source: string, stream?: MediaStream): Promise<RTCRtpSender>;
  unpublishTrack(sender: RTCRtpSender): Promise<void>;
  replaceTrack(kind: 'audio' | 'video', track: MediaStreamTrack): Promise<void>;
  sendFile(file: File, to?: string, onProgress?: (received: number, size: number) => void): Promise<FileInfo>;
  close(): void;
};

export type JoinOpts = { audioOnly?: boolean; facingMode?: 'user' | 'environment' };

// joinRoom opens camera and microphone (or the microphone only) and joins
// the room with a token. onTrack gets every remote track; onEvent every
// server message the client does not handle itself (chat, stats, alert,
// hold_state, recording, track, track_gone, participant, left, file ...).
export async function joinRoom(token: string, wsURL: string, onTrack: (t: MediaStreamTrack, s: MediaStream) => void, onEvent: (type: string, data: any) => void, opts: JoinOpts = {}): Promise<{ client: CallClient; stream: MediaStream }> {
  await loadClient();
  const video: MediaTrackConstraints = { width: 640, height: 360 };
  if (opts.facingMode) video.facingMode = opts.facingMode;
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: opts.audioOnly ? false : video });
  const W = (window as any).WitnessCall;
  const client: CallClient = new W({ token, wsURL, log: () => {}, onTrack, onEvent });
  await client.connect(stream);
  return { client, stream };
}

// The remote video stream of a track: each remote video track gets its
// own MediaStream so a screen share and a camera (same server stream id)
// show in separate elements.
export function trackStream(t: MediaStreamTrack, s: MediaStream): MediaStream {
  if (t.kind !== 'video') return s;
  return new MediaStream([t, ...s.getAudioTracks()]);
}

// netSummary reduces a stats message to what a page shows for one
// participant: its round trip, the worst loss and the total bitrates.
export function netSummary(st: StatsMsg | null, me?: string) {
  const p = st?.participants.find((x) => x.id === me) || st?.participants[0];
  if (!p) return null;
  const sum = (ts: TrackStats[]) => ts.reduce((a, t) => a + (t.bitrate_kbps || 0), 0);
  const loss = Math.max(0, ...p.up.map((t) => t.loss_pct || 0), ...p.down.map((t) => t.loss_pct || 0));
  const rtt = p.rtt_ms || Math.max(0, ...p.down.map((t) => t.rtt_ms || 0));
  const kind = (k: string) => p.down.filter((t) => t.kind === k);
  return { rtt: Math.round(rtt), loss: Math.round(loss * 10) / 10, up: Math.round(sum(p.up)), down: Math.round(sum(p.down)), downVideo: Math.round(sum(kind('video'))), downAudio: Math.round(sum(kind('audio'))) };
}

// beep plays a short tone through WebAudio (ring and alert sounds; no
// audio files shipped).
let actx: AudioContext | null = null;
export function beep(freq: number, ms: number, gain = 0.15) {
  try {
    actx = actx || new AudioContext();
    if (actx.state === 'suspended') actx.resume().catch(() => {});
    const o = actx.createOscillator(); const g = actx.createGain();
    o.frequency.value = freq; g.gain.value = gain;
    o.connect(g).connect(actx.destination); o.start(); o.stop(actx.currentTime + ms / 1000);
    return true;
  } catch { return false; }
}
