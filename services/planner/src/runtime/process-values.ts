import { SharedValues } from '../core/shared-values.js';

/**
 * The planner process's one pool of repeated values (issue 15): agents' reports and the documents read back from
 * the store share it, so a unit's kind or revision is one string whichever of them it came from.
 */
export const processValues = new SharedValues();
