import { patternIdSchema, type AntibodyEvent, type EventData } from '@antibody/contracts';
import type { PatternState } from '@antibody/domain';
import type { Analysis, LlmDiagnosis } from '@antibody/fix-kit';

/** The data of a DiagnosisMade event, as the contract defines it. */
export type DiagnosisMadeData = EventData<'DiagnosisMade'>;

/** What the analyzer appends for one incident. */
export type DiagnosisEvent = Extract<AntibodyEvent, { type: 'DiagnosisMade' | 'DiagnosisFailed' | 'LlmCallMetered' | 'IncidentEscalated' }>;

function common(analysis: Analysis, commit: string): Omit<DiagnosisMadeData, 'rootCause' | 'source' | 'confidence' | 'location'> & { location: DiagnosisMadeData['location'] } {
  const top = analysis.localisation.sites[0]!;
  return {
    location: { file: top.file, line: top.line, ...(top.function ? { function: top.function } : {}) },
    commit,
    ...(analysis.match ? { errorClass: analysis.match.rule.errorClass, captures: { ...analysis.match.captures } } : {}),
    sites: analysis.localisation.sites.map((s) => ({ file: s.file, line: s.line, ...(s.function ? { function: s.function } : {}), ...(s.suspect ? { suspect: s.suspect } : {}), weight: s.weight })),
    evidence: [...analysis.localisation.evidence],
    notes: [...analysis.localisation.notes],
  };
}

/** A diagnosis from the best matching rule. Requires a rule match and at least one site. */
export function diagnosisFromRule(analysis: Analysis, commit: string): DiagnosisEvent {
  const match = analysis.match!;
  return {
    type: 'DiagnosisMade',
    data: { ...common(analysis, commit), rootCause: match.rootCause, source: 'rule', ruleId: match.rule.id, confidence: match.rule.confidence },
  };
}

/** A diagnosis from a learned pattern whose template matches the code at a site. */
export function diagnosisFromPattern(analysis: Analysis, commit: string, pattern: PatternState, site: { file: string; line: number }): DiagnosisEvent {
  const base = common(analysis, commit);
  const rootCause = analysis.match?.rootCause ?? `Matches learned pattern ${pattern.patternId} for ${pattern.errorClass}.`;
  return {
    type: 'DiagnosisMade',
    data: {
      ...base,
      location: { ...base.location, file: site.file, line: site.line },
      errorClass: pattern.errorClass,
      rootCause: `${rootCause} (learned pattern: success estimate ${pattern.estimate.toFixed(2)} over ${pattern.uses} uses)`,
      source: 'pattern',
      patternId: patternIdSchema.parse(pattern.patternId),
      confidence: Math.min(0.99, Math.max(0, pattern.estimate)),
    },
  };
}

/** A diagnosis from a model's answer (already validated), with its cost. */
export function diagnosisFromLlm(analysis: Analysis, commit: string, answer: LlmDiagnosis, model: string, costUsd: number): DiagnosisEvent {
  const base = common(analysis, commit);
  const site = analysis.localisation.sites.find((s) => s.file === answer.file);
  return {
    type: 'DiagnosisMade',
    data: {
      ...base,
      location: { file: answer.file, line: answer.line, ...(site?.function ? { function: site.function } : {}) },
      rootCause: answer.rootCause,
      source: 'llm',
      model,
      confidence: answer.confidence,
      costUsd,
    },
  };
}

/** DiagnosisFailed with the reason (and the spend, when a model was paid for nothing usable). */
export function diagnosisFailed(reason: string, costUsd?: number): DiagnosisEvent {
  return { type: 'DiagnosisFailed', data: { reason: reason.slice(0, 2000), ...(costUsd !== undefined ? { costUsd } : {}) } };
}
