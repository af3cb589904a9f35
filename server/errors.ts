// One error type for every refusal: the CLI prints its message on one line,
// the API answers {error, field} with its status.
export type ErrorStatus = 400 | 404 | 409 | 413 | 500 | 504;

export class VmdeckError extends Error {
  constructor(readonly status: ErrorStatus, message: string, readonly field?: string) {
    super(message);
    this.name = 'VmdeckError';
  }
}

export const badInput = (field: string, message: string) => new VmdeckError(400, message, field);
export const notFound = (message: string, field?: string) => new VmdeckError(404, message, field);
export const conflict = (message: string, field?: string) => new VmdeckError(409, message, field);
