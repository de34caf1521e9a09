import { useCallback, useContext, useEffect, useState } from 'react';
import { Select } from 'antd';
import { api, APIError, token } from '../../api';
import { LangContext } from '../../i18n';

export type Tenant = {
  id: string; parent_id: string; name: string; level: string; whitelisted: boolean;
  settings: { businesses?: { code: string; name: string; products?: string[] }[]; hours: any; quotas: any; routing?: { queues?: any[]; routes?: any[] } };
};

// useTenants loads the tenants in the caller's scope.
export function useTenants() {
  const [tenants, setTenants] = useState<Tenant[]>([]);
  const [err, setErr] = useState('');
  const load = useCallback(() => api('GET', '/api/v1/tenants').then((r) => { setTenants(r.tenants); setErr(''); }).catch((e) => setErr(e.message)), []);
  useEffect(() => { load(); }, [load]);
  return { tenants, err, reload: load };
}

export function TenantSelect({ tenants, value, onChange, label, allowClear, testId }: { tenants: Tenant[]; value?: string; onChange: (v: string) => void; label: string; allowClear?: boolean; testId?: string }) {
  return (
    <Select aria-label={label} data-testid={testId} style={{ minWidth: 180 }} allowClear={allowClear} value={value || undefined} placeholder={label}
      onChange={(v) => onChange(v || '')} showSearch optionFilterProp="label"
      options={tenants.map((t) => ({ value: t.id, label: `${t.name} (${t.id})` }))} />
  );
}

export function useLang() { return useContext(LangContext).lang; }

// download fetches path with the session token and saves the response
// under the server's file name (Content-Disposition).
export async function download(path: string, fallback: string) {
  const r = await fetch(path, { headers: { Authorization: 'Bearer ' + token() } });
  if (!r.ok) {
    let msg = r.statusText;
    try { msg = (await r.json()).error || msg; } catch { /* not JSON */ }
    throw new APIError(r.status, msg);
  }
  const m = /filename="([^"]+)"/.exec(r.headers.get('Content-Disposition') || '');
  const url = URL.createObjectURL(await r.blob());
  const a = document.createElement('a');
  a.href = url; a.download = m ? m[1] : fallback;
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}

// seconds <-> Go durations (nanoseconds in JSON).
export const ns2s = (v?: number) => (v ? v / 1e9 : undefined);
export const s2ns = (v?: number | null) => (v ? Math.round(v * 1e9) : undefined);
