// Reports page (pages/Reports.tsx).
export default {
  reports: ['统计报表', 'Reports'],
  rpTitle: ['统计报表', 'Reports'],
  rpTenant: ['机构（含下级）', 'Tenant (with sub-tenants)'],
  rpExport: ['导出 Excel', 'Export Excel'],
  rpExported: ['已导出', 'Exported'],
  rp_business: ['业务报表', 'Business'],
  rp_agents: ['坐席绩效', 'Agent KPI'],
  rp_queues: ['队列报表', 'Queues'],
  rp_branches: ['网点报表', 'Branches'],
  rp_concurrency: ['并发资源报表', 'Concurrency'],
  rpGrouping: ['统计口径', 'Grouping'],
  rpTotal: ['汇总', 'Totals'],
  rpByDay: ['按天', 'By day'],
  rpLiveNote: ['“当前”各列为此刻的实时数，不受日期筛选影响。', 'The "now" columns are live counts at this moment, independent of the dates.'],
  rpNote: ['按客户排队时间统计；平均等待与通话只计已接通的服务；质检通过率 = 通过 / 已质检。', 'Counted by the time the customer queued; average wait and talk cover answered calls only; QC pass rate = passed / checked.'],
} as Record<string, [string, string]>;
