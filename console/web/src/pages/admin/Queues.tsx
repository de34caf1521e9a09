import { useEffect, useState } from 'react';
import { Alert, Button, Card, Form, Input, InputNumber, Select, Space, Table, message } from 'antd';
import { api } from '../../api';
import { useT } from '../../i18n';
import { useMe } from '../../me';
import { TenantSelect, ns2s, s2ns, useTenants } from './common';

const strategies = ['longest-idle', 'least-calls', 'round-robin', 'random', 'preferred', 'skill', 'grab'];
const channels = ['app', 'h5', 'mini', 'pc'];
// Duration fields shown in seconds (Go durations are nanoseconds in JSON).
const durations = ['max_wait', 'ring_timeout', 'wrap_up'] as const;

// Queues and routing of one tenant: PUT /api/v1/tenants/{id}/queues
// replaces both; the engine validates (unknown queue in a route, bad
// strategy) and the error is shown as is.
export default function Queues() {
  const t = useT();
  const me = useMe();
  const { tenants, err: loadErr, reload } = useTenants();
  const [tenant, setTenant] = useState('');
  const [err, setErr] = useState('');
  const [form] = Form.useForm();
  const cur = tenants.find((x) => x.id === tenant);
  useEffect(() => { if (!tenant && tenants.length) setTenant(tenants.some((x) => x.id === me?.tenant_id) ? me!.tenant_id : tenants[0].id); }, [tenants, tenant, me]);
  useEffect(() => {
    if (!cur) return;
    const r = cur.settings.routing || {};
    form.setFieldsValue({
      queues: (r.queues || []).map((q: any) => { const o = { ...q }; for (const d of durations) o[d] = ns2s(q[d]); return o; }),
      routes: (r.routes || []).map((x: any) => ({ ...x })),
    });
  }, [cur, form]);
  const queueNames: string[] = (Form.useWatch('queues', form) || []).map((q: any) => q?.name).filter(Boolean);
  const save = async () => {
    await form.validateFields();
    const v = form.getFieldsValue(true); // keeps fields the page does not show
    const queues = (v.queues || []).map((q: any) => { const o = { ...q }; for (const d of durations) o[d] = s2ns(q[d]); return o; });
    const routes = (v.routes || []).map((x: any) => ({ ...x, channel: x.channel || undefined }));
    try {
      await api('PUT', `/api/v1/tenants/${encodeURIComponent(tenant)}/queues`, { queues, routes });
      message.success(t('adSaved')); setErr(''); reload();
    } catch (e: any) { setErr(e.message); }
  };
  const num = (name: any, label: string, min = 0) => <Form.Item name={name} noStyle><InputNumber min={min} aria-label={label} style={{ width: 90 }} /></Form.Item>;
  return (
    <Card title={t('adQueues')} data-testid="admin-queues" extra={<TenantSelect tenants={tenants} value={tenant} onChange={setTenant} label={t('tenant')} testId="queues-tenant" />}>
      {(err || loadErr) && <Alert type="error" showIcon message={err || loadErr} style={{ marginBottom: 16 }} data-testid="admin-error" />}
      <Form form={form} name="queues" component="div">
        <h4>{t('adQueueList')}</h4>
        <Form.List name="queues">
          {(fields, { add, remove }) => (<>
            <Table size="small" pagination={false} rowKey="key" dataSource={fields} scroll={{ x: 'max-content' }} data-testid="queues-table"
              columns={[
                { title: t('adQueueName'), render: (_, f) => <Form.Item name={[f.name, 'name']} noStyle rules={[{ required: true }]}><Input aria-label={t('adQueueName')} style={{ width: 120 }} /></Form.Item> },
                { title: t('adStrategy'), render: (_, f) => <Form.Item name={[f.name, 'strategy']} noStyle><Select aria-label={t('adStrategy')} style={{ width: 140 }} allowClear options={strategies.map((s) => ({ value: s, label: t('ad_strategy_' + s) }))} /></Form.Item> },
                { title: t('adSkill'), render: (_, f) => <Form.Item name={[f.name, 'skill']} noStyle><Input aria-label={t('adSkill')} style={{ width: 100 }} /></Form.Item> },
                { title: t('adMinProf'), render: (_, f) => num([f.name, 'min_proficiency'], t('adMinProf')) },
                { title: t('adMaxLength'), render: (_, f) => num([f.name, 'max_length'], t('adMaxLength')) },
                { title: t('adMaxWait'), render: (_, f) => num([f.name, 'max_wait'], t('adMaxWait')) },
                { title: t('adRingTimeout'), render: (_, f) => num([f.name, 'ring_timeout'], t('adRingTimeout')) },
                { title: t('adWrapUp'), render: (_, f) => num([f.name, 'wrap_up'], t('adWrapUp')) },
                { title: '', render: (_, f) => <Button danger size="small" onClick={() => remove(f.name)} aria-label={t('adRemove')}>{t('adRemove')}</Button> },
              ]} />
            <Button style={{ marginTop: 8 }} onClick={() => add({ name: '', strategy: 'longest-idle' })} data-testid="queue-add">{t('adAddQueue')}</Button>
          </>)}
        </Form.List>
        <h4 style={{ marginTop: 24 }}>{t('adRoutes')}</h4>
        <Form.List name="routes">
          {(fields, { add, remove }) => (<>
            <Table size="small" pagination={false} rowKey="key" dataSource={fields} scroll={{ x: 'max-content' }} data-testid="routes-table"
              columns={[
                { title: t('channel'), render: (_, f) => <Form.Item name={[f.name, 'channel']} noStyle><Select aria-label={t('channel')} allowClear style={{ width: 100 }} placeholder={t('adAny')} options={channels.map((c) => ({ value: c, label: c }))} /></Form.Item> },
                { title: t('business'), render: (_, f) => <Form.Item name={[f.name, 'business']} noStyle><Input aria-label={t('business')} placeholder={t('adAny')} style={{ width: 120 }} /></Form.Item> },
                { title: t('adProduct'), render: (_, f) => <Form.Item name={[f.name, 'product']} noStyle><Input aria-label={t('adProduct')} placeholder={t('adAny')} style={{ width: 120 }} /></Form.Item> },
                { title: t('adQueueName'), render: (_, f) => <Form.Item name={[f.name, 'queue']} noStyle rules={[{ required: true }]}><Select aria-label={t('adRouteQueue')} style={{ width: 140 }} options={queueNames.map((q) => ({ value: q, label: q }))} /></Form.Item> },
                { title: '', render: (_, f) => <Button danger size="small" onClick={() => remove(f.name)} aria-label={t('adRemove')}>{t('adRemove')}</Button> },
              ]} />
            <Button style={{ marginTop: 8 }} onClick={() => add({})} data-testid="route-add">{t('adAddRoute')}</Button>
          </>)}
        </Form.List>
      </Form>
      <Space style={{ marginTop: 24 }}>
        <Button type="primary" onClick={save} disabled={!tenant} data-testid="queues-save">{t('adSave')}</Button>
        <span style={{ color: '#888' }}>{t('adQueuesNote')}</span>
      </Space>
    </Card>
  );
}
