import { useCallback, useEffect, useMemo, useState } from 'react';
import { Alert, Button, Card, Col, Form, Input, InputNumber, Modal, Row, Space, Table, Tag } from 'antd';
import { api } from '../../api';
import { useStateName, useT } from '../../i18n';
import { useTenants } from './common';
import type { User } from './Users';

type Live = { id: string; state: string; queues: string[]; calls: number };

// Agents with their skills and live queues, and the skill groups: which
// queues require a skill (QueueConfig.skill / min_proficiency) and which
// agents have it. Skills are edited here (PUT /api/v1/users/{id}/skills)
// and take effect at the agent's next sign-in.
export default function Agents() {
  const t = useT();
  const sn = useStateName();
  const { tenants } = useTenants();
  const [agents, setAgents] = useState<User[]>([]);
  const [live, setLive] = useState<Record<string, Live>>({});
  const [err, setErr] = useState('');
  const [editing, setEditing] = useState<User | null>(null);
  const [form] = Form.useForm();
  const load = useCallback(async () => {
    try {
      const [u, a] = await Promise.all([api('GET', '/api/v1/users?role=agent'), api('GET', '/api/v1/console/agents')]);
      setAgents(u.users); setLive(Object.fromEntries(a.agents.map((x: Live) => [x.id, x]))); setErr('');
    } catch (e: any) { setErr(e.message); }
  }, []);
  useEffect(() => { load(); }, [load]);
  const skills = useMemo(() => {
    const m = new Map<string, { queues: string[]; agents: string[] }>();
    const get = (k: string) => { if (!m.has(k)) m.set(k, { queues: [], agents: [] }); return m.get(k)!; };
    for (const tn of tenants) for (const q of tn.settings.routing?.queues || []) if (q.skill) get(q.skill).queues.push(`${q.name} (${tn.id}, ≥${q.min_proficiency || 1})`);
    for (const a of agents) for (const [k, v] of Object.entries(a.skills || {})) get(k).agents.push(`${a.username} (${v})`);
    return [...m.entries()].sort().map(([skill, x]) => ({ skill, ...x }));
  }, [tenants, agents]);
  const save = async () => {
    const v = await form.validateFields();
    const sk: Record<string, number> = {};
    for (const r of v.skills || []) if (r?.skill) sk[r.skill] = r.level;
    try { await api('PUT', `/api/v1/users/${encodeURIComponent(editing!.id)}/skills`, { skills: sk }); setEditing(null); load(); } catch (e: any) { setErr(e.message); }
  };
  return (
    <Card title={t('adAgents')} data-testid="admin-agents">
      {err && <Alert type="error" showIcon message={err} style={{ marginBottom: 16 }} data-testid="admin-error" />}
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={15}>
          <Table rowKey="id" size="small" dataSource={agents} scroll={{ x: 'max-content' }} pagination={{ pageSize: 20, hideOnSinglePage: true }} data-testid="agents-table"
            columns={[
              { title: t('username'), dataIndex: 'username' },
              { title: t('tenant'), dataIndex: 'tenant_id' },
              { title: t('adSkills'), render: (_, a: User) => Object.entries(a.skills || {}).map(([k, v]) => <Tag key={k}>{k}: {v}</Tag>) },
              { title: t('state'), render: (_, a: User) => (live[a.id] ? sn(live[a.id].state) : sn('signed_out')) },
              { title: t('adLiveQueues'), render: (_, a: User) => (live[a.id]?.queues || []).join(', ') },
              { title: t('adCalls'), render: (_, a: User) => live[a.id]?.calls ?? 0 },
              { title: '', render: (_, a: User) => <Button size="small" aria-label={t('adEditSkills') + ' ' + a.username}
                onClick={() => { form.setFieldsValue({ skills: Object.entries(a.skills || {}).map(([skill, level]) => ({ skill, level })) }); setEditing(a); }}>{t('adEditSkills')}</Button> },
            ]} />
        </Col>
        <Col xs={24} xl={9}>
          <Card size="small" title={t('adSkillGroups')}>
            <Table rowKey="skill" size="small" pagination={false} dataSource={skills} data-testid="skills-table" locale={{ emptyText: t('adNoSkills') }}
              columns={[{ title: t('adSkill'), dataIndex: 'skill' }, { title: t('adQueueList'), dataIndex: 'queues', render: (v: string[]) => v.join('; ') },
                { title: t('adAgents'), dataIndex: 'agents', render: (v: string[]) => v.join('; ') }]} />
          </Card>
        </Col>
      </Row>
      <Modal open={!!editing} title={t('adEditSkills') + ' — ' + (editing?.username || '')} onOk={save} onCancel={() => setEditing(null)}>
        <Form form={form} name="skills">
          <Form.List name="skills">
            {(fields, { add, remove }) => (<>
              {fields.map((f) => (
                <Space key={f.key} align="baseline">
                  <Form.Item name={[f.name, 'skill']} rules={[{ required: true, pattern: /^[A-Za-z0-9_.-]{1,64}$/, message: t('adIdRule') }]}><Input aria-label={t('adSkill')} placeholder={t('adSkill')} /></Form.Item>
                  <Form.Item name={[f.name, 'level']} rules={[{ required: true, message: t('required') }]}><InputNumber min={1} max={10} aria-label={t('adLevelProf')} placeholder="1-10" /></Form.Item>
                  <Button danger size="small" onClick={() => remove(f.name)} aria-label={t('adRemove')}>{t('adRemove')}</Button>
                </Space>))}
              <Button onClick={() => add({ level: 5 })}>{t('adAddSkill')}</Button>
            </>)}
          </Form.List>
        </Form>
        <p style={{ color: '#888', marginTop: 12 }}>{t('adSkillsNote')}</p>
      </Modal>
    </Card>
  );
}
