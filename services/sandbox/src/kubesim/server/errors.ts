// Kubernetes-shaped Status errors (k8s.io/apimachinery/pkg/api/errors).

export interface StatusCause {
  type?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  toStatus(): Record<string, unknown> {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      // Go's Status omits an empty reason (StatusReasonUnknown), as for errors that are not a Status.
      ...(this.reason ? { reason: this.reason } : {}),
      ...(this.details ? { details: wireDetails(this.details) } : {}),
      code: this.code,
    };
  }
}

/**
 * metav1.StatusDetails as Go serialises it: empty strings are omitted, and a cause's type goes
 * on the wire as `reason` (StatusCause.Type has the JSON name "reason").
 */
function wireDetails(details: StatusDetails): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (details.name) out.name = details.name;
  if (details.group) out.group = details.group;
  if (details.kind) out.kind = details.kind;
  if (details.uid) out.uid = details.uid;
  if (details.causes && details.causes.length > 0) {
    out.causes = details.causes.map((cause) => ({
      ...(cause.type ? { reason: cause.type } : {}),
      ...(cause.message ? { message: cause.message } : {}),
      ...(cause.field ? { field: cause.field } : {}),
    }));
  }
  if (details.retryAfterSeconds) out.retryAfterSeconds = details.retryAfterSeconds;
  return out;
}

export interface Target {
  group: string;
  /** Plural resource name, e.g. deployments. */
  resource: string;
  name?: string;
}

function qualified(target: Target): string {
  return target.group ? `${target.resource}.${target.group}` : target.resource;
}

export const errors = {
  notFound: (t: Target) => new ApiError(404, 'NotFound', `${qualified(t)} "${t.name ?? ''}" not found`, { name: t.name, group: t.group, kind: t.resource }),
  alreadyExists: (t: Target) =>
    new ApiError(409, 'AlreadyExists', `${qualified(t)} "${t.name ?? ''}" already exists`, { name: t.name, group: t.group, kind: t.resource }),
  conflict: (t: Target, why = 'the object has been modified; please apply your changes to the latest version and try again') =>
    new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(t)} "${t.name ?? ''}": ${why}`, {
      name: t.name,
      group: t.group,
      kind: t.resource,
    }),
  invalid: (group: string, kind: string, name: string, causes: StatusCause[]) =>
    new ApiError(
      422,
      'Invalid',
      `${kind}${group ? `.${group}` : ''} "${name}" is invalid: ${causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join(', ')}`,
      { name, group, kind, causes },
    ),
  badRequest: (message: string) => new ApiError(400, 'BadRequest', message),
  methodNotAllowed: () => new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {}),
  notFoundPath: () => new ApiError(404, 'NotFound', 'the server could not find the requested resource', {}),
  unsupportedMediaType: (contentType: string) =>
    new ApiError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got ${contentType})`,
      {},
    ),
  unauthorized: () => new ApiError(401, 'Unauthorized', 'Unauthorized'),
  gone: (message: string) => new ApiError(410, 'Expired', message),
  internal: (message: string) => new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] }),
};

/** A field path error, phrased like k8s.io/apimachinery/pkg/util/validation/field. */
export function fieldError(
  type: 'FieldValueRequired' | 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueDuplicate' | 'FieldValueNotSupported' | 'FieldValueTypeInvalid',
  field: string,
  detail: string,
  value?: unknown,
): StatusCause {
  const text: Record<string, string> = {
    FieldValueRequired: 'Required value',
    FieldValueInvalid: 'Invalid value',
    FieldValueForbidden: 'Forbidden',
    FieldValueDuplicate: 'Duplicate value',
    FieldValueNotSupported: 'Unsupported value',
    FieldValueTypeInvalid: 'Invalid value',
  };
  const shown = value === undefined ? '' : `: ${JSON.stringify(value)}`;
  const message =
    type === 'FieldValueRequired' || type === 'FieldValueForbidden'
      ? `${text[type]}${detail ? `: ${detail}` : ''}`
      : `${text[type]}${shown}${detail ? `: ${detail}` : ''}`;
  return { type, field, message };
}
