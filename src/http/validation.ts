import type { z } from 'zod';
import type { ErrorCode } from './error-codes.js';
import { badRequest } from './errors.js';

/**
 * The one way a route turns a zod failure into an answer: 400 with a message that names each bad
 * field, `"applicant.name: is required; custom_data: must have at most 30 keys"` (a whole-body
 * problem is named `body`).
 */
export function describeIssues(error: z.ZodError, root = 'body'): string {
  const lines = error.issues.slice(0, 5).map((issue) => {
    const where = issue.path.length > 0 ? issue.path.map(pathSegment).join('.') : root;
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys
        .map((k) => (issue.path.length > 0 ? `${where}.${pathSegment(k)}` : pathSegment(k)))
        .join(', ');
      return `${keys}: ${issue.keys.length > 1 ? 'are not known fields' : 'is not a known field'}`;
    }
    if (issue.code === 'invalid_type') {
      return `${where}: ${issue.input === undefined ? 'is required' : `must be ${article(issue.expected)}`}`;
    }
    return `${where}: ${issue.message}`;
  });
  return lines.join('; ');
}

/** A field name as is, or quoted with escapes when it holds anything unusual (a key with a NUL). */
const pathSegment = (key: PropertyKey) =>
  typeof key === 'string' && !/^[\w$-]+$/.test(key) ? JSON.stringify(key) : String(key);

const article = (type: string) => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);

/** `value` as `schema` says, or a 400 (`invalid_request` unless told) naming the bad fields. */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  options: { root?: string; code?: ErrorCode } = {},
): z.output<S> {
  // The input is reported so that a missing field reads "is required"; messages never echo it.
  const result = schema.safeParse(value, { reportInput: true });
  if (!result.success) throw badRequest(describeIssues(result.error, options.root), options.code);
  return result.data;
}
