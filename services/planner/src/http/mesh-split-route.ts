import { ApiErrorCode, type MeshSplitOptions, type MeshSplitResult } from '@meshwave/contracts';
import { MeshError, MeshErrorCode, splitMeshes } from '@meshwave/mesh';
import { HttpError } from './http-errors.js';

/** `meshwave split` over HTTP: what the constraints make impossible is a 422, a malformed graph a 400. */
export function splitMeshesOrExplain(graph: unknown, options: MeshSplitOptions): MeshSplitResult {
  try {
    return splitMeshes(graph, options);
  } catch (error) {
    if (!(error instanceof MeshError)) throw error;
    const status = error.code === MeshErrorCode.Infeasible ? 422 : 400;
    throw new HttpError(status, ApiErrorCode.InvalidRequest, error.message, [{ path: 'body', message: error.message }]);
  }
}
