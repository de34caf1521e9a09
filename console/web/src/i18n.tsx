import { createContext, useContext } from 'react';

export type Lang = 'zh' | 'en';

// The shared dictionary: key → [中文, English]. Each console area adds its
// own keys in src/i18n/<area>.ts (export default a Record of the same shape),
// merged below, so areas do not edit one file.
const base: Record<string, [string, string]> = {
  appName: ['Witness 远程视频', 'Witness remote video'],
  login: ['登录', 'Sign in'],
  logout: ['退出', 'Sign out'],
  username: ['用户名', 'Username'],
  password: ['密码', 'Password'],
  totp: ['动态码（如已绑定）', 'TOTP code (if enrolled)'],
  loginFailed: ['登录失败', 'Sign-in failed'],
  mustChange: ['首次登录，请修改密码', 'First sign-in: change your password'],
  oldPassword: ['当前密码', 'Current password'],
  newPassword: ['新密码（至少10位，含字母和数字）', 'New password (10+ characters, letters and digits)'],
  confirmPassword: ['确认新密码', 'Confirm new password'],
  mismatch: ['两次输入不一致', 'Passwords do not match'],
  changePassword: ['修改密码', 'Change password'],
  required: ['必填', 'Required'],
  dashboard: ['今日概览', 'Today'],
  desk: ['坐席工作台', 'Agent desk'],
  records: ['录像记录', 'Recordings'],
  customerPage: ['客户排队页', 'Customer page'],
  waiting: ['排队中', 'Waiting'],
  inCall: ['通话中', 'In call'],
  agentsOnline: ['在线坐席', 'Agents online'],
  callsToday: ['今日服务', 'Calls today'],
  avgWait: ['平均等待（秒）', 'Average wait (s)'],
  agentsByState: ['坐席状态', 'Agents by state'],
  queueLoad: ['各队列排队', 'Queue load'],
  callsByStatus: ['今日服务结果', "Today's calls by status"],
  count: ['数量', 'Count'],
  refresh: ['刷新', 'Refresh'],
  language: ['English', '中文'],
  joinQueue: ['开始排队', 'Join the queue'],
  leaveQueue: ['离开队列', 'Leave the queue'],
  business: ['办理业务', 'Business'],
  customerId: ['客户编号', 'Customer ID'],
  yourPosition: ['当前排位', 'Your place in line'],
  queueLength: ['队列人数', 'Queue length'],
  estWait: ['预计等待', 'Estimated wait'],
  seconds: ['秒', 's'],
  connected: ['坐席已接入，正在连接视频…', 'An agent answered: connecting the video…'],
  inRoom: ['正在与坐席视频通话', 'In a video call with an agent'],
  left: ['您已离开队列', 'You left the queue'],
  ended: ['服务已结束', 'The service has ended'],
  timeout: ['排队超时，请稍后再试', 'The wait timed out, please try again later'],
  ringing: ['正在为您呼叫坐席…', 'Calling an agent for you…'],
  tenant: ['机构', 'Tenant'],
  signIn: ['签入', 'Sign in to queues'],
  queues: ['队列（逗号分隔）', 'Queues (comma separated)'],
  state: ['状态', 'State'],
  incoming: ['来电', 'Incoming call'],
  answer: ['接听', 'Answer'],
  decline: ['拒接', 'Decline'],
  hangUp: ['挂断', 'Hang up'],
  mute: ['静音', 'Mute'],
  unmute: ['取消静音', 'Unmute'],
  cameraOff: ['关闭摄像头', 'Camera off'],
  cameraOn: ['打开摄像头', 'Camera on'],
  alerts: ['实时告警', 'Live alerts'],
  noAlerts: ['暂无告警', 'No alerts'],
  localVideo: ['本地画面', 'Local video'],
  remoteVideo: ['对方画面', 'Remote video'],
  search: ['查询', 'Search'],
  agent: ['坐席', 'Agent'],
  channel: ['渠道', 'Channel'],
  status: ['状态', 'Status'],
  dates: ['日期', 'Dates'],
  from: ['开始时间', 'From'],
  to: ['结束时间', 'To'],
  id: ['流水号', 'Serial'],
  queuedAt: ['排队时间', 'Queued at'],
  talk: ['通话时长（秒）', 'Talk (s)'],
  wait: ['等待（秒）', 'Wait (s)'],
  qc: ['质检结论', 'QC verdict'],
  markers: ['服务记录中的标记', 'Markers in the service record'],
  marker: ['标记', 'Marker'],
  markerLabel: ['标记说明', 'Marker label'],
  addMarker: ['添加标记', 'Add marker'],
  markerAdded: ['已添加标记', 'Marker added'],
  timeline: ['时间轴标记（自动与人工）', 'Timeline markers (automatic and manual)'],
  recordingFiles: ['录像文件', 'Recording files'],
  summary: ['服务小结', 'Summary'],
  rating: ['评价', 'Rating'],
  back: ['返回', 'Back'],
  detail: ['详情', 'Detail'],
  error: ['出错了', 'Error'],
  noAccess: ['此账号无权访问该页面', 'This account cannot use this page'],
};

const areas = import.meta.glob<Record<string, [string, string]>>('./i18n/*.ts', { eager: true, import: 'default' });
const dict: Record<string, [string, string]> = Object.assign({}, base, ...Object.values(areas));

export const LangContext = createContext<{ lang: Lang; setLang: (l: Lang) => void }>({ lang: 'zh', setLang: () => {} });

export function useT() {
  const { lang } = useContext(LangContext);
  return (k: string) => {
    const v = dict[k];
    return v ? v[lang === 'zh' ? 0 : 1] : k;
  };
}

export const stateNames: Record<string, [string, string]> = {
  signed_out: ['已签出', 'Signed out'], signed_in: ['已签入', 'Signed in'], idle: ['空闲', 'Idle'], ringing: ['振铃', 'Ringing'],
  in_call: ['通话中', 'In call'], wrap_up: ['话后处理', 'Wrap-up'], busy: ['忙碌', 'Busy'], break: ['小休', 'Break'],
  meeting: ['会议', 'Meeting'], meal: ['用餐', 'Meal'], paused: ['暂停', 'Paused'],
};

export function useStateName() {
  const { lang } = useContext(LangContext);
  return (s: string) => (stateNames[s] ? stateNames[s][lang === 'zh' ? 0 : 1] : s);
}
