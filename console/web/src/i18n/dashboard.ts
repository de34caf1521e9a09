// Today's dashboard (§4.3.1).
export default {
  dbAnswerRatio: ['今日接通率', "Today's answer rate"],
  dbAnswered: ['已接通', 'Answered'],
  dbMissed: ['未接通', 'Missed'],
  dbPerAgent: ['坐席今日接通', 'Calls per agent today'],
  dbByBusiness: ['各业务结果', 'Outcomes by business'],
} as Record<string, [string, string]>;
