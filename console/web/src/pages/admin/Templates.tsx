import { useCallback, useEffect, useState } from 'react';
import { Alert, AutoComplete, Button, Card, Form, Input, InputNumber, Modal, Popconfirm, Select, Space, Switch, Table, Tag } from 'antd';
import { api } from '../../api';
import { useT } from '../../i18n';
import { useMe } from '../../me';
import { TenantSelect, useTenants } from './common';

type Tpl = { tenant_id: string; business: string; layout: string; watermark: { text: string; position: string; timestamp: boolean; opacity?: number; font_size?: number }; analyzers: string[]; qc_policy: string; updated_by: string; updated_at: string };
type Catalog = { layouts: string[]; analyzers: string[]; positions: string[] };

// Business templates: per business type of a tenant, the recording
// layout, watermark, live analyzers and QC policy (YAML in qc.Policy's
// format). The server checks every name against what this build can run
// and parses the policy with the QC checker's strict parser.
export default function Templates() {
  const t = useT();
  const me = useMe();
  const { tenants } = useTenants();
  const [tenant, setTenant] = useState('');
  const [rows, setRows] = useState<Tpl[]>([]);
  const [cat, setCat] = useState<Catalog>({ layouts: [], analyzers: [], positions: [] });
  const [err, setErr] = useState('');
  const [editing, setEditing] = useState<Partial<Tpl> | null>(null);
  const [form] = Form.useForm();
  useEffect(() => { api<Catalog>('GET', '/api/v1/templates/catalog').then(setCat).catch((e) => setErr(e.message)); }, []);
  useEffect(() => { if (!tenant && tenants.length) setTenant(tenants.some((x) => x.id === me?.tenant_id) ? me!.tenant_id : tenants[0].id); }, [tenants, tenant, me]);
  const load = useCallback(() => {
    if (!tenant) return;
    api('GET', `/api/v1/tenants/${encodeURIComponent(tenant)}/templates`).then((r) => { setRows(r.templates); setErr(''); }).catch((e) => setErr(e.message));
  }, [tenant]);
  useEffect(() => { load(); }, [load]);
  const open = (x: Partial<Tpl>) => {
    form.resetFields();
    form.setFieldsValue({ business: x.business, layout: x.layout, analyzers: x.analyzers || [], wm_text: x.watermark?.text || '', wm_position: x.watermark?.position || undefined,
      wm_timestamp: !!x.watermark?.timestamp, wm_opacity: x.watermark?.opacity || undefined, wm_font: x.watermark?.font_size || undefined, qc_policy: x.qc_policy || '' });
    setEditing(x);
  };
  const save = async () => {
    const v = await form.validateFields();
    const body = { layout: v.layout, analyzers: v.analyzers || [], qc_policy: v.qc_policy || '',
      watermark: { text: v.wm_text || '', position: v.wm_position || '', timestamp: !!v.wm_timestamp, opacity: v.wm_opacity || 0, font_size: v.wm_font || 0 } };
    try {
      await api('PUT', `/api/v1/tenants/${encodeURIComponent(tenant)}/templates/${encodeURIComponent(v.business)}`, body);
      setEditing(null); setErr(''); load();
    } catch (e: any) { setErr(e.message); }
  };
  const del = async (x: Tpl) => {
    try { await api('DELETE', `/api/v1/tenants/${encodeURIComponent(x.tenant_id)}/templates/${encodeURIComponent(x.business)}`); load(); } catch (e: any) { setErr(e.message); }
  };
  const businesses = tenants.find((x) => x.id === tenant)?.settings.businesses || [];
  return (
    <Card title={t('adTemplates')} data-testid="admin-templates"
      extra={<Space wrap><TenantSelect tenants={tenants} value={tenant} onChange={setTenant} label={t('tenant')} /><Button type="primary" disabled={!tenant} onClick={() => open({})} data-testid="template-new">{t('adNewTemplate')}</Button></Space>}>
      {err && <Alert type="error" showIcon message={err} style={{ marginBottom: 16 }} data-testid="admin-error" />}
      {cat.layouts.length === 0 && <Alert type="warning" showIcon message={t('adNoCatalog')} style={{ marginBottom: 16 }} />}
      <Table rowKey="business" size="small" dataSource={rows} scroll={{ x: 'max-content' }} pagination={false} data-testid="templates-table"
        columns={[
          { title: t('business'), dataIndex: 'business' },
          { title: t('adLayout'), dataIndex: 'layout' },
          { title: t('adWatermark'), render: (_, x: Tpl) => x.watermark.text || x.watermark.timestamp ? `${x.watermark.text}${x.watermark.timestamp ? ' + ' + t('adTimestamp') : ''} (${t('ad_pos_' + x.watermark.position)})` : '—' },
          { title: t('adAnalyzers'), dataIndex: 'analyzers', render: (v: string[]) => v.map((a) => <Tag key={a}>{a}</Tag>) },
          { title: t('adQCPolicy'), dataIndex: 'qc_policy', render: (v: string) => (v.trim() ? t('adCustom') : t('adDefault')) },
          { title: t('adUpdated'), render: (_, x: Tpl) => `${x.updated_by} · ${new Date(x.updated_at).toLocaleString()}` },
          { title: '', render: (_, x: Tpl) => <Space size={4}><Button size="small" onClick={() => open(x)} aria-label={t('adEdit') + ' ' + x.business}>{t('adEdit')}</Button>
            <Popconfirm title={t('adDeleteConfirm')} onConfirm={() => del(x)}><Button size="small" danger aria-label={t('adDelete') + ' ' + x.business}>{t('adDelete')}</Button></Popconfirm></Space> },
        ]} />
      <Modal open={!!editing} width={640} title={t('adTemplate')} onOk={save} onCancel={() => setEditing(null)} okButtonProps={{ 'data-testid': 'template-ok' } as any}>
        <Form form={form} name="template" layout="vertical">
          <Form.Item label={t('adBusinessCode')} name="business" rules={[{ required: true, message: t('required') }, { pattern: /^[A-Za-z0-9_.-]{1,64}$/, message: t('adIdRule') }]}>
            <AutoComplete disabled={!!editing?.business} options={businesses.map((b) => ({ value: b.code, label: `${b.name} (${b.code})` }))} />
          </Form.Item>
          <Form.Item label={t('adLayout')} name="layout" rules={[{ required: true, message: t('required') }]}><Select aria-label={t('adLayout')} options={cat.layouts.map((l) => ({ value: l, label: l }))} /></Form.Item>
          <Form.Item label={t('adAnalyzers')} name="analyzers"><Select aria-label={t('adAnalyzers')} mode="multiple" options={cat.analyzers.map((a) => ({ value: a, label: a }))} /></Form.Item>
          <Space wrap align="start">
            <Form.Item label={t('adWatermarkText')} name="wm_text"><Input style={{ width: 220 }} placeholder="{tenant} {agent} {business}" /></Form.Item>
            <Form.Item label={t('adPosition')} name="wm_position"><Select aria-label={t('adPosition')} allowClear style={{ width: 140 }} options={cat.positions.map((p) => ({ value: p, label: t('ad_pos_' + p) }))} /></Form.Item>
            <Form.Item label={t('adTimestamp')} name="wm_timestamp" valuePropName="checked"><Switch aria-label={t('adTimestamp')} /></Form.Item>
            <Form.Item label={t('adOpacity')} name="wm_opacity"><InputNumber aria-label={t('adOpacity')} min={0} max={1} step={0.1} /></Form.Item>
            <Form.Item label={t('adFontSize')} name="wm_font"><InputNumber aria-label={t('adFontSize')} min={0} max={200} /></Form.Item>
          </Space>
          <Form.Item label={t('adQCPolicy')} name="qc_policy" extra={t('adQCPolicyNote')}><Input.TextArea rows={6} style={{ fontFamily: 'monospace' }} placeholder={'require:\n  video: true\n  audio: true\nexpect:\n  min_duration: 30s'} /></Form.Item>
        </Form>
      </Modal>
    </Card>
  );
}
