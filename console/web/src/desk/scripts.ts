// Business scripts (话术) the desk shows during a call, by the ticket's
// business. There is no backend store for scripts yet: this table is the
// configuration, compiled into the console (edit it and rebuild). Each
// step is [中文, English]; "default" serves any other business.
export const scripts: Record<string, [string, string][]> = {
  open: [
    ['您好，这里是远程视频柜台，本次通话将全程录音录像，请问您是否同意？', 'Hello, this is the remote video counter. This call is recorded in audio and video; do you agree?'],
    ['请出示您的身份证正面，并放在镜头前保持两秒。', 'Please hold the front of your ID card in front of the camera for two seconds.'],
    ['请您本人正对镜头，确认是您本人办理开户业务。', 'Please face the camera and confirm that you are opening the account yourself.'],
    ['请确认您已阅读并理解《开户协议》与风险提示。', 'Please confirm you have read and understood the account agreement and the risk notice.'],
    ['业务已受理，感谢您的配合，稍后请对本次服务进行评价。', 'Your request is accepted. Thank you; please rate this service afterwards.'],
  ],
  wealth: [
    ['根据监管要求，理财产品销售过程将全程录音录像（双录），请问您是否同意？', 'By regulation the sale of this wealth product is recorded (audio and video); do you agree?'],
    ['请问您的风险承受能力评估结果是什么？', 'What is the result of your risk tolerance assessment?'],
    ['本产品不保本，过往业绩不代表未来表现，请您确认已知晓。', 'This product is not capital-guaranteed and past performance does not predict the future: please confirm.'],
    ['请您复述：“我已了解产品风险，自愿购买。”', 'Please repeat: "I understand the product risks and buy voluntarily."'],
  ],
  loan: [
    ['本次贷款面签将全程录音录像，请问您是否同意？', 'This loan interview is recorded in audio and video; do you agree?'],
    ['请出示身份证并确认贷款金额、期限与用途。', 'Please show your ID card and confirm the amount, term and purpose of the loan.'],
    ['请确认您知晓逾期还款的后果。', 'Please confirm you know the consequences of late repayment.'],
  ],
  default: [
    ['您好，本次通话将全程录音录像，请问您是否同意？', 'Hello, this call is recorded in audio and video; do you agree?'],
    ['请出示身份证件并正对镜头。', 'Please show your ID document and face the camera.'],
    ['请问还有什么可以帮您？', 'Is there anything else I can help you with?'],
  ],
};

export function scriptFor(business: string): [string, string][] {
  return scripts[business] || scripts.default;
}

// Preset wrap-up options ([中文, English]); the chosen labels are stored
// in the record's summary_options in the current language.
export const summaryOptions: [string, string][] = [
  ['业务办理完成', 'Request completed'],
  ['客户需补充材料', 'Customer must supply documents'],
  ['客户放弃办理', 'Customer gave up'],
  ['转其他渠道', 'Referred to another channel'],
  ['存在风险疑点', 'Risk concern noted'],
];
