// REST client for /api/v1 (docs/control.md). The session token lives in
// sessionStorage: closing the tab signs out.
export class APIError extends Error {
  constructor(public status: number, message: string) { super(message); }
}

export function token(): string { return sessionStorage.getItem('witness.token') || ''; }
export function setToken(t: string) { if (t) sessionStorage.setItem('witness.token', t); else sessionStorage.removeItem('witness.token'); }

export async function api<T = any>(method: string, path: string, body?: unknown, tok = token()): Promise<T> {
  const headers: Record<string, string> = {};
  if (tok) headers.Authorization = 'Bearer ' + tok;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let j: any = undefined;
  try { j = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
  if (!r.ok) throw new APIError(r.status, (j && (j.error || j.message)) || text || r.statusText);
  return j as T;
}

// sse reads a server-sent event stream with the bearer token (EventSource
// cannot send headers) until the signal aborts.
export async function sse(path: string, onEvent: (event: string, data: any) => void, signal: AbortSignal) {
  const r = await fetch(path, { headers: { Authorization: 'Bearer ' + token() }, signal });
  if (!r.ok || !r.body) throw new APIError(r.status, r.statusText);
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i); buf = buf.slice(i + 2);
      let ev = 'message'; const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) ev = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length) { try { onEvent(ev, JSON.parse(data.join('\n'))); } catch { /* skip bad event */ } }
    }
  }
}
