import type { z } from 'zod';
import type { healingStepSchema, stackFrameSchema } from './events/incident';
import type { servicePolicySchema } from './events/service';

/** The step of the healing loop an escalation, a decision or an LLM call is about. */
export type HealingStep = z.infer<typeof healingStepSchema>;
/** One stack frame of an error sample, oldest call first within `ErrorRecorded.frames`. */
export type StackFrame = z.infer<typeof stackFrameSchema>;
/** A service's policy: auto-deploy, allowed and forbidden paths, budgets. */
export type ServicePolicy = z.infer<typeof servicePolicySchema>;
