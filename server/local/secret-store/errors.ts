/** Stripe's error envelope, as the official SDK reads it (`{"error": {type, code, message, param}}`). */

export type StripeErrorType = 'api_error' | 'invalid_request_error' | 'idempotency_error';

export class StripeApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: StripeErrorType,
    message: string,
    readonly code?: string,
    readonly param?: string,
  ) {
    super(message);
  }

  toJSON() {
    const error: Record<string, string> = { type: this.type, message: this.message };
    if (this.code) {
      error.code = this.code;
      error.doc_url = `https://stripe.com/docs/error-codes/${this.code.replace(/_/g, '-')}`;
    }
    if (this.param) error.param = this.param;
    return { error };
  }
}

/** A request Stripe rejects before the operation runs: never stored as an idempotent result. */
export class ParameterError extends StripeApiError {
  constructor(message: string, param?: string, code = 'parameter_invalid') {
    super(400, 'invalid_request_error', message, code, param);
  }
}

export const invalid = (message: string, param?: string, code?: string) => new ParameterError(message, param, code);

export const missingParam = (param: string) => new ParameterError(`Missing required param: ${param}.`, param, 'parameter_missing');

export const unknownParam = (param: string) => new ParameterError(`Received unknown parameter: ${param}`, param, 'parameter_unknown');

export const noSuchSecret = (name: string) =>
  new StripeApiError(404, 'invalid_request_error', `No such secret: '${name}'`, 'resource_missing', 'name');
