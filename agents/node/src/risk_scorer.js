'use strict';
// The sample Node.js agent: scores a contract's risk from the terms found by earlier steps.
// A high risk is handed off to a specialist when the step allows a handoff, and may notify
// the risk team through a mesh-approved action.

const { Agent } = require('./agent');
const { AgentFailure, Handoff, Reply } = require('./outcomes');
const { assessRisk, describe } = require('./risk');

const NOTIFY_ACTION = 'risk.notify';

const agent = new Agent({
  name: 'risk-scorer',
  version: '1.0.0',
  description: "Scores a contract's risk from its extracted terms and escalates high risks.",
  provider: 'Airspace samples',
  streaming: true,
  actions: true,
  handoff: true,
  skills: [
    {
      id: 'score-risk',
      name: 'Score contract risk',
      description: 'Rates liability, notice, renewal, governing law and value terms from 0 to 1.',
      tags: ['contracts', 'risk', 'legal'],
      examples: [
        'Liability is capped at EUR 1,000,000. Either party may terminate with 60 days written notice.',
      ],
    },
  ],
});

agent.handler(async (task) => {
  const terms = { ...task.contextData, ...task.data };
  const text = [task.text, ...task.context.map((message) => message.text)].join('\n');
  if (!task.text.trim() && !Object.keys(terms).length) {
    throw new AgentFailure('INVALID_INPUT', 'nothing to score: the input has no text and no contract terms');
  }
  task.progress('reading the contract terms', 0.3);
  const { confidence, ...assessment } = assessRisk(terms, text, task.parameters);
  for (const reason of assessment.risk_reasons) task.partial(`- ${reason}\n`);
  const summary = describe(assessment);
  task.reportUsage({
    inputTokens: text.split(/\s+/).filter(Boolean).length,
    outputTokens: summary.split(/\s+/).length,
    model: 'rules',
  });
  if (assessment.risk_level === 'high') {
    const target = escalationTarget(task);
    if (target) {
      return new Handoff({
        target,
        reason: `risk score ${assessment.risk_score} is at or above the threshold ${assessment.risk_threshold}`,
        text: summary,
        data: assessment,
      });
    }
    if (task.allowedActions.includes(NOTIFY_ACTION)) {
      const decision = await task.requestAction(
        NOTIFY_ACTION,
        { level: assessment.risk_level, score: assessment.risk_score },
        'a high-risk contract needs the risk team',
      );
      assessment.risk_team_notified = decision.verdict === 'ALLOWED';
    }
  }
  task.progress('scored', 1);
  return new Reply({ text: summary, data: assessment, confidence });
});

// The agent named by the step's `escalate_to` parameter, else the first one offered.
function escalationTarget(task) {
  const wanted = task.parameters.escalate_to;
  if (wanted && task.allowedHandoffs.includes(wanted)) return wanted;
  return task.allowedHandoffs[0];
}

module.exports = { agent };
