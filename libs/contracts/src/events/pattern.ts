import { z } from 'zod';
import { incidentIdSchema, patchIdSchema, patternIdSchema } from '../ids';
import { jsonValue, probability, text } from '../primitives';

export const patternLearned = z.object({
  patternId: patternIdSchema,
  errorClass: text.describe('The class of error the pattern fixes, e.g. `TypeError:undefined-property-access`.'),
  template: jsonValue.describe('The fix template, interpreted by the patcher.'),
  source: z.enum(['seed', 'incident', 'person']).describe('`seed`: shipped with Antibody; `incident`: learned from a healed incident; `person`: added by hand.'),
  incidentId: incidentIdSchema.optional(),
  patchId: patchIdSchema.optional(),
});

export const patternOutcomeRecorded = z.object({
  patternId: patternIdSchema,
  incidentId: incidentIdSchema,
  success: z.boolean(),
  successEstimate: probability.describe('The pattern\'s estimated success probability after this outcome.'),
});

export const patternRetired = z.object({
  patternId: patternIdSchema,
  reason: text,
});

/** Data schemas of the `pattern-<id>` stream, by event type. */
export const patternEventSchemas = {
  PatternLearned: patternLearned,
  PatternOutcomeRecorded: patternOutcomeRecorded,
  PatternRetired: patternRetired,
} as const;
