'use strict';
// Contract risk scoring: plain rules over the terms a contract extractor found and the
// contract's text (no model, no network), so the sample is deterministic.

const APPROVED_LAWS = ['England and Wales', 'Delaware', 'New York', 'Ireland'];
const DEFAULTS = { threshold: 0.7, highValue: 250000, minNoticeDays: 30 };
const AUTO_RENEWAL = /\b(auto(matic(ally)?)?[- ]?renew|renews? automatically)/i;
const UNLIMITED_LIABILITY = /\bunlimited liability\b|\bliability (is|shall be) unlimited\b/i;

function isKnown(value) {
  return value !== undefined && value !== null && value !== '';
}

// Each finding: [what was found, how much risk it adds].
function findings(terms, text, limits) {
  const found = [];
  if (UNLIMITED_LIABILITY.test(text)) found.push(['liability is unlimited', 0.45]);
  else if (!isKnown(terms.liability_cap_amount)) found.push(['no liability cap found', 0.3]);
  const notice = terms.termination_notice_days;
  if (!isKnown(notice)) found.push(['no termination notice period found', 0.15]);
  else if (notice < limits.minNoticeDays) {
    found.push([`termination notice of ${notice} days is under ${limits.minNoticeDays}`, 0.15]);
  }
  if (AUTO_RENEWAL.test(text)) found.push(['the contract renews automatically', 0.15]);
  const law = terms.governing_law;
  if (!isKnown(law)) found.push(['no governing law found', 0.05]);
  else if (!APPROVED_LAWS.includes(law)) found.push([`governing law ${law} is not on the approved list`, 0.1]);
  if (isKnown(terms.payment_amount) && terms.payment_amount > limits.highValue) {
    found.push([`contract value ${terms.payment_amount} is above ${limits.highValue}`, 0.15]);
  }
  return found;
}

// The assessment: score 0..1, level, reasons, and how sure it is (share of terms known).
function assessRisk(terms, text, parameters = {}) {
  const limits = {
    threshold: parameters.risk_threshold ?? DEFAULTS.threshold,
    highValue: parameters.high_value ?? DEFAULTS.highValue,
    minNoticeDays: parameters.min_notice_days ?? DEFAULTS.minNoticeDays,
  };
  const found = findings(terms, text, limits);
  const score = Math.min(1, Math.round(found.reduce((sum, [, weight]) => sum + weight, 0) * 100) / 100);
  const level = score >= limits.threshold ? 'high' : score >= 0.4 ? 'medium' : 'low';
  const checked = ['liability_cap_amount', 'termination_notice_days', 'governing_law', 'payment_amount'];
  const known = checked.filter((name) => isKnown(terms[name])).length;
  return {
    risk_score: score,
    risk_level: level,
    risk_reasons: found.map(([reason]) => reason),
    risk_threshold: limits.threshold,
    confidence: Math.round((0.5 + (0.5 * known) / checked.length) * 100) / 100,
  };
}

function describe(assessment) {
  const reasons = assessment.risk_reasons.length ? assessment.risk_reasons.join('; ') : 'nothing of concern';
  return `Risk ${assessment.risk_level.toUpperCase()} (${assessment.risk_score}): ${reasons}.`;
}

module.exports = { assessRisk, describe };
