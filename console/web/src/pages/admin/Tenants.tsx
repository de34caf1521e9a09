import { useEffect, useMemo, useState } from 'react';
import { Alert, Button, Card, Checkbox, Col, Form, Input, InputNumber, Modal, Row, Select, Space, Switch, Tree, message } from 'antd';
import { api } from '../../api';
import { useT } from '../../i18n';
import { useMe } from '../../me';
import { Tenant, useTenants } from './common';

const levels = ['province', 'bank', 'branch'];
const childLevel: Record<string, string> = { province: 'bank', bank: 'branch', branch: 'branch' };

// Tenants: the tree in scope; the selected tenant's name, whitelist,
// service hours and quotas; create a sub-tenant under it.
export default function Tenants() {
  const t = useT();
  const me = useMe();
  const { tenants, err: loadErr, reload } = useTenants();
  const [sel, setSel] = useState('');
  const [err, setErr] = useState('');
  const [creating, setCreating] = useState(false);
  const [form] = Form.useForm();
  const [cform] = Form.useForm();
  const cur = tenants.find((x) => x.id === sel);
  useEffect(() => { if (!sel && tenants.length) setSel(me?.tenant_id && tenants.some((x) => x.id === me.tenant_id) ? me.tenant_id : tenants[0].id); }, [tenants, sel, me]);
  useEffect(() => {
    if (!cur) return;
    const h = cur.settings.hours || {}, q = cur.settings.quotas || {};
    form.setFieldsValue({ name: cur.name, whitelisted: cur.whitelisted, zone: h.zone || '', open: h.open || '', close: h.close || '', work_days: h.work_days || [],
      holidays: (h.holidays || []).join(', '), max_calls: q.max_calls || 0, max_recordings: q.max_recordings || 0,
      businesses: (cur.settings.businesses || []).map((b) => ({ code: b.code, name: b.name, products: b.products || [] })) });
  }, [cur, form]);
  const tree = useMemo(() => {
    const ids = new Set(tenants.map((x) => x.id));
    const node = (x: Tenant): any => ({ key: x.id, title: <span data-testid={'tenant-node-' + x.id}>{x.name} <small style={{ color: '#888' }}>({x.id} · {t('ad_level_' + x.level)}{x.whitelisted ? '' : ' · ' + t('adNotWhitelisted')})</small></span>,
      children: tenants.filter((c) => c.parent_id === x.id).map(node) });
    return tenants.filter((x) => !ids.has(x.parent_id)).map(node);
  }, [tenants, t]);

  const save = async (v: any) => {
    if (!cur) return;
    const hours = { ...cur.settings.hours, zone: v.zone || undefined, open: v.open || undefined, close: v.close || undefined, work_days: v.work_days?.length ? v.work_days : undefined,
      holidays: v.holidays ? String(v.holidays).split(/[,\s]+/).filter(Boolean) : undefined };
    const quotas = { ...cur.settings.quotas, max_calls: v.max_calls || 0, max_recordings: v.max_recordings || 0 };
    try {
      const businesses = (v.businesses || []).filter((b: any) => b && b.code).map((b: any) => ({ code: b.code, name: b.name || b.code, products: b.products?.length ? b.products : undefined }));
      await api('PUT', '/api/v1/tenants/' + encodeURIComponent(cur.id), { id: cur.id, parent_id: cur.parent_id, level: cur.level, name: v.name, whitelisted: v.whitelisted,
        settings: { ...cur.settings, hours, quotas, businesses: businesses.length ? businesses : undefined } });
      message.success(t('adSaved')); setErr(''); reload();
    } catch (e: any) { setErr(e.message); }
  };
  const create = async () => {
    const v = await cform.validateFields();
    try {
      await api('POST', '/api/v1/tenants', { id: v.id, parent_id: cur!.id, name: v.name, level: v.level, whitelisted: v.whitelisted, settings: { hours: {}, quotas: { max_calls: 0, max_recordings: 0 } } });
      message.success(t('adCreated')); setCreating(false); cform.resetFields(); setErr(''); setSel(v.id); reload();
    } catch (e: any) { setErr(e.message); }
  };
  const days = [0, 1, 2, 3, 4, 5, 6].map((d) => ({ value: d, label: t('ad_day_' + d) }));
  return (
    <Card title={t('adTenants')} data-testid="admin-tenants">
      {(err || loadErr) && <Alert type="error" showIcon message={err || loadErr} style={{ marginBottom: 16 }} data-testid="admin-error" />}
      <Row gutter={[16, 16]}>
        <Col xs={24} md={9}>
          <Card size="small" title={t('adTree')} extra={<Button size="small" disabled={!cur} onClick={() => { cform.setFieldsValue({ level: childLevel[cur!.level], whitelisted: true }); setCreating(true); }} data-testid="tenant-new">{t('adNewSub')}</Button>}>
            {tree.length > 0 && <Tree key={tenants.length} treeData={tree} defaultExpandAll selectedKeys={[sel]} onSelect={(k) => k.length && setSel(String(k[0]))} aria-label={t('adTree')} />}
          </Card>
        </Col>
        <Col xs={24} md={15}>
          {cur && <Form form={form} name="tenant" layout="vertical" onFinish={save} data-testid="tenant-form">
            <Row gutter={12}>
              <Col xs={24} sm={12}><Form.Item label={t('adName')} name="name" rules={[{ required: true, message: t('required') }]}><Input /></Form.Item></Col>
              <Col xs={24} sm={12}><Form.Item label={t('adWhitelisted')} name="whitelisted" valuePropName="checked"><Switch aria-label={t('adWhitelisted')} /></Form.Item></Col>
              <Col xs={24} sm={8}><Form.Item label={t('adZone')} name="zone"><Input placeholder="Asia/Shanghai" /></Form.Item></Col>
              <Col xs={12} sm={8}><Form.Item label={t('adOpen')} name="open" rules={[{ pattern: /^$|^\d\d:\d\d$/, message: 'HH:MM' }]}><Input placeholder="09:00" /></Form.Item></Col>
              <Col xs={12} sm={8}><Form.Item label={t('adClose')} name="close" rules={[{ pattern: /^$|^\d\d:\d\d$/, message: 'HH:MM' }]}><Input placeholder="17:00" /></Form.Item></Col>
              <Col span={24}><Form.Item label={t('adWorkDays')} name="work_days"><Checkbox.Group options={days} /></Form.Item></Col>
              <Col span={24}><Form.Item label={t('adHolidays')} name="holidays"><Input placeholder="2026-10-01, 2026-10-02" /></Form.Item></Col>
              <Col xs={12}><Form.Item label={t('adMaxCalls')} name="max_calls"><InputNumber min={0} style={{ width: '100%' }} /></Form.Item></Col>
              <Col xs={12}><Form.Item label={t('adMaxRecs')} name="max_recordings"><InputNumber min={0} style={{ width: '100%' }} /></Form.Item></Col>
              <Col span={24}>
                <Form.Item label={t('adBusinesses')}>
                  <Form.List name="businesses">
                    {(fields, { add, remove }) => (<>
                      {fields.map((f) => (
                        <Space key={f.key} align="baseline" wrap style={{ display: 'flex' }}>
                          <Form.Item name={[f.name, 'code']} rules={[{ required: true, pattern: /^[A-Za-z0-9_.-]{1,64}$/, message: t('adIdRule') }]}><Input aria-label={t('adBusinessCode')} placeholder={t('adBusinessCode')} style={{ width: 120 }} /></Form.Item>
                          <Form.Item name={[f.name, 'name']}><Input aria-label={t('adBusinessName')} placeholder={t('adBusinessName')} style={{ width: 140 }} /></Form.Item>
                          <Form.Item name={[f.name, 'products']}><Select mode="tags" aria-label={t('adProducts')} placeholder={t('adProducts')} style={{ minWidth: 180 }} open={false} tokenSeparators={[',', '，']} /></Form.Item>
                          <Button danger size="small" onClick={() => remove(f.name)} aria-label={t('adRemove')}>{t('adRemove')}</Button>
                        </Space>))}
                      <Button size="small" onClick={() => add({ products: [] })} data-testid="business-add">{t('adAddBusiness')}</Button>
                    </>)}
                  </Form.List>
                </Form.Item>
              </Col>
            </Row>
            <Button type="primary" htmlType="submit" data-testid="tenant-save">{t('adSave')}</Button>
          </Form>}
        </Col>
      </Row>
      <Modal open={creating} title={t('adNewSub') + (cur ? ' — ' + cur.name : '')} onOk={create} onCancel={() => setCreating(false)} okText={t('adCreate')} okButtonProps={{ 'data-testid': 'tenant-create-ok' } as any}>
        <Form form={cform} name="subtenant" layout="vertical">
          <Form.Item label={t('adTenantId')} name="id" rules={[{ required: true, message: t('required') }, { pattern: /^[A-Za-z0-9_.-]{1,64}$/, message: t('adIdRule') }]}><Input /></Form.Item>
          <Form.Item label={t('adName')} name="name" rules={[{ required: true, message: t('required') }]}><Input /></Form.Item>
          <Form.Item label={t('adLevel')} name="level"><Select aria-label={t('adLevel')} options={levels.filter((l) => l !== 'province').map((l) => ({ value: l, label: t('ad_level_' + l) }))} /></Form.Item>
          <Form.Item label={t('adWhitelisted')} name="whitelisted" valuePropName="checked"><Switch aria-label={t('adWhitelisted')} /></Form.Item>
        </Form>
      </Modal>
    </Card>
  );
}
