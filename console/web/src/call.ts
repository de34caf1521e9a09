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

export type CallClient = { connect(s: MediaStream): Promise<unknown>; mute(kind: 'audio' | 'video', muted: boolean): Promise<unknown>; close(): void };

// joinRoom opens camera and microphone and joins the room with a token.
export async function joinRoom(token: string, wsURL: string, onVideo: (s: MediaStream) => void, onEvent: (type: string, data: any) => void): Promise<{ client: CallClient; stream: MediaStream }> {
  await loadClient();
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360 } });
  const W = (window as any).WitnessCall;
  const client: CallClient = new W({
    token, wsURL, log: () => {},
    onTrack: (tr: MediaStreamTrack, st: MediaStream) => { if (tr.kind === 'video') onVideo(st); },
    onEvent,
  });
  await client.connect(stream);
  return { client, stream };
}
