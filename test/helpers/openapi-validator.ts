import type { RequestHandler, Response } from 'express';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { openApiDocument } from '../../src/http/openapi.js';

/**
 * Checks every answer of the app against its OpenAPI description: each test that starts an app
 * (startTestApp) also proves that what it saw is documented, status, content type and body.
 */
interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  responses: Record<string, { content?: Record<string, unknown> }>;
}

const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

let compiled: { operations: Operation[]; validator: (ref: string) => ValidateFunction } | undefined;

function load() {
  if (compiled) return compiled;
  const document = JSON.parse(JSON.stringify(openApiDocument())) as {
    paths: Record<string, Record<string, { responses: Operation['responses'] }>>;
  };
  // OpenAPI keywords such as `example` are not JSON Schema: not strict.
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  ajv.addSchema(document, 'openapi');
  const operations: Operation[] = [];
  // Literal paths before templated ones: /api/applications/bulk-review is not /api/applications/{id}.
  const templates = Object.keys(document.paths).sort((a, b) => a.split('{').length - b.split('{').length);
  for (const template of templates) {
    // As Express routes: any case, with or without a trailing slash.
    const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}/?$`, 'i');
    for (const [method, op] of Object.entries(document.paths[template]!)) {
      operations.push({ method: method.toUpperCase(), template, pattern, responses: op.responses });
    }
  }
  const cache = new Map<string, ValidateFunction>();
  const validator = (ref: string) => {
    let v = cache.get(ref);
    if (!v) cache.set(ref, (v = ajv.compile({ $ref: `openapi#/${ref}` })));
    return v;
  };
  compiled = { operations, validator };
  return compiled;
}

/** A validator of the schema at `ref` in the description (a JSON pointer without `#/`, such as `components/schemas/Error`). */
export const descriptionValidator = (ref: string): ValidateFunction => load().validator(ref);

/** What an answer breaks in the description, or null when it conforms. */
export function responseViolation(
  method: string,
  path: string,
  status: number,
  contentType: string | undefined,
  body: unknown,
): string | null {
  const { operations, validator } = load();
  const candidates = operations.filter((op) => op.pattern.test(path));
  if (candidates.length === 0) {
    // An unknown route: the one answer it may have is 404.
    return status === 404 ? null : `${method} ${path}: no such path in the description (answered ${status})`;
  }
  const op = candidates.find((o) => o.method === method);
  if (!op)
    return status === 404 || status === 405 ? null : `${method} ${path}: method not described (answered ${status})`;
  const response = op.responses[String(status)];
  if (!response) return `${method} ${op.template}: answered ${status}, which is not described`;
  if (!response.content) return null;
  const json = response.content['application/json'] as { schema?: unknown } | undefined;
  if (!json) {
    const expected = Object.keys(response.content)[0]!;
    return contentType?.startsWith(expected)
      ? null
      : `${method} ${op.template} ${status}: ${contentType} is not ${expected}`;
  }
  if (!contentType?.startsWith('application/json'))
    return `${method} ${op.template} ${status}: ${contentType} is not JSON`;
  if (!json.schema) return null;
  const validate = validator(
    pointer(
      'paths',
      op.template,
      op.method.toLowerCase(),
      'responses',
      String(status),
      'content',
      'application/json',
      'schema',
    ),
  );
  if (validate(body)) return null;
  return `${method} ${op.template} ${status}: body breaks the description: ${JSON.stringify(validate.errors?.slice(0, 3))} in ${JSON.stringify(body).slice(0, 500)}`;
}

/** Paths whose answers are described: the API and the health checks, not the web UI's files. */
const DESCRIBED = /^\/(api(?!\/docs\/)|healthz$|readyz$)/;

/** Middleware that records, in `violations`, every answer that breaks the description. */
export function recordResponseViolations(violations: string[]): RequestHandler {
  return (req, res, next) => {
    const path = req.path;
    // Express answers OPTIONS (and HEAD) of every route by itself: not API operations.
    if (!DESCRIBED.test(path) || req.method === 'OPTIONS' || req.method === 'HEAD') return next();
    let body: unknown;
    const json = res.json.bind(res);
    res.json = ((value: unknown) => {
      body = value;
      return json(value);
    }) as Response['json'];
    res.on('finish', () => {
      const contentType = res.getHeader('content-type');
      const violation = responseViolation(
        req.method,
        path,
        res.statusCode,
        contentType === undefined ? undefined : String(contentType),
        body === undefined ? undefined : JSON.parse(JSON.stringify(body)),
      );
      if (violation) violations.push(violation);
    });
    next();
  };
}
