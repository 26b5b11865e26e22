import { ApiError, PlanRequest } from '@meshwave/contracts';
import { z } from 'zod';
import type { PlanInput } from '../runtime/planner.js';

/** The error bodies every API route may answer with (one shape, `ApiError`). */
export const errorResponses = {
  400: ApiError,
  401: ApiError,
  403: ApiError,
  404: ApiError,
  409: ApiError,
  413: ApiError,
  415: ApiError,
  422: ApiError,
  429: ApiError,
  500: ApiError,
  503: ApiError,
};

/** A YAML body arrives as text; a JSON body as `{ spec, inventory? }`. */
export const SpecBody = z.union([
  z.string().min(1).describe('the rollout spec as YAML (Content-Type: application/yaml)'),
  PlanRequest,
]);

export function planInputOf(body: z.infer<typeof SpecBody>): PlanInput {
  if (typeof body === 'string') return { spec: body };
  return { spec: body.spec, ...(body.inventory !== undefined ? { inventory: body.inventory } : {}) };
}
