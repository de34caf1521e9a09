import { Space, Tag, Typography } from 'antd';
import { useT } from '../i18n';
import { StatsMsg, netSummary } from '../call';

// NetStatus shows the protocol's stats (every 2 s) for this participant:
// round trip, worst packet loss, bitrates up and down.
export default function NetStatus({ stats, me, compact }: { stats: StatsMsg | null; me?: string; compact?: boolean }) {
  const t = useT();
  const n = netSummary(stats, me);
  if (!n) return <Typography.Text type="secondary" data-testid="net-status" data-ready="0">{t('netWaiting')}</Typography.Text>;
  const q = n.loss >= 5 || n.rtt >= 400 ? ['red', 'netPoor'] : n.loss >= 1 || n.rtt >= 150 ? ['orange', 'netFair'] : ['green', 'netGood'];
  return (
    <Space wrap size={compact ? 4 : 8} data-testid="net-status" data-ready="1" data-rtt={n.rtt} data-loss={n.loss} data-up={n.up} data-down={n.down} data-down-video={n.downVideo} data-down-audio={n.downAudio} aria-label={t('netStatus')} role="status">
      <Tag color={q[0]}>{t(q[1])}</Tag>
      <span>{t('netRTT')} <b>{n.rtt}</b> ms</span>
      <span>{t('netLoss')} <b>{n.loss}</b>%</span>
      <span>↑ <b>{n.up}</b> kbit/s</span>
      <span>↓ <b>{n.down}</b> kbit/s</span>
    </Space>
  );
}
