import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020';
import addFormatsModule from 'ajv-formats';
import type { APIRole } from 'discord-api-types/v10';
import { startSandbox, type Sandbox, type SandboxIntents, type SandboxOptions } from '../../src/dev/sandbox/index.js';
import type { SandboxState } from '../../src/dev/sandbox/state.js';

/**
 * One Discord sandbox for a test file: started before its tests, closed after them, and put back
 * to its defaults (no faults, default rate limits, empty stats, the intents it started with)
 * after each test.
 */
export function useSandbox(ready: (sandbox: Sandbox) => void, options?: SandboxOptions): void {
  let sandbox: Sandbox | undefined;
  beforeAll(async () => {
    sandbox = await startSandbox(options);
    ready(sandbox);
  });
  afterEach(() => {
    sandbox?.faults.clear();
    sandbox?.setRateLimits({});
    sandbox?.resetStats();
    sandbox?.setIntents({ guildMembers: options?.intents?.guildMembers ?? true });
  });
  afterAll(async () => {
    await sandbox?.close();
  });
}

/** A REST call to the sandbox as the bot: its token unless another Authorization is given, JSON bodies labelled. */
export function botRequest(sandbox: Sandbox, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has('authorization')) headers.set('authorization', `Bot ${sandbox.botToken}`);
  if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
  return fetch(`${sandbox.apiBaseUrl}/v10${path}`, { ...init, headers });
}

/** HTTP Basic client credentials of an OAuth2 token request. */
export function basicAuth(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
}

/** Asserts a Discord JSON error answer (`{code, message}`, application/json) and returns its body. */
export async function expectDiscordError(
  res: Response,
  status: number,
  code: number,
): Promise<Record<string, unknown>> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await res.json()) as Record<string, unknown>;
  expect(body.code).toBe(code);
  expect(typeof body.message).toBe('string');
  return body;
}

// The control API (`/_sandbox`) over HTTP: what a person does in the Discord client, and the
// sandbox's own switches. Unknown guilds, members and roles answer 404 `{error}`, bad requests 400.

/** A call to the control API, JSON bodies labelled; the raw answer, for tests of its refusals. */
export function controlRequest(sandbox: Sandbox, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
  return fetch(`${sandbox.url}/_sandbox${path}`, { ...init, headers });
}

/** A control call that must answer `expected`; its JSON body (undefined for 204). */
async function control<T>(sandbox: Sandbox, path: string, init: RequestInit, expected: number): Promise<T> {
  const res = await controlRequest(sandbox, path, init);
  const text = await res.text();
  if (res.status !== expected) {
    throw new Error(`${init.method ?? 'GET'} /_sandbox${path}: ${res.status} instead of ${expected}: ${text}`);
  }
  return (text ? JSON.parse(text) : undefined) as T;
}

const json = (method: string, body: unknown): RequestInit => ({ method, body: JSON.stringify(body) });

export type SandboxSnapshot = ReturnType<SandboxState['snapshot']>;

/** `GET /_sandbox/state`: users, guilds (bot installed or not, roles, members) and intents. */
export const getSandboxState = (sandbox: Sandbox): Promise<SandboxSnapshot> => control(sandbox, '/state', {}, 200);

/** `PUT /_sandbox/intents`: the application's Server Members intent on or off (on by default). */
export const setIntents = (sandbox: Sandbox, intents: SandboxIntents): Promise<void> =>
  control(sandbox, '/intents', json('PUT', intents), 204);

/** `DELETE /_sandbox/guilds/:guildId/bot`: the bot is kicked; its managed role goes with it. */
export const removeBotFromGuild = (sandbox: Sandbox, guildId: string): Promise<void> =>
  control(sandbox, `/guilds/${guildId}/bot`, { method: 'DELETE' }, 204);

/** `DELETE /_sandbox/guilds/:guildId/roles/:roleId`: the owner deletes a role (taken from every member). */
export const deleteRoleAsOwner = (sandbox: Sandbox, guildId: string, roleId: string): Promise<void> =>
  control(sandbox, `/guilds/${guildId}/roles/${roleId}`, { method: 'DELETE' }, 204);

export interface EditRoleFields {
  name?: string;
  permissions?: bigint | string;
  managed?: boolean;
  /** Where the role goes (1 = just above @everyone); the roles it passes shift by one. */
  position?: number;
}

/** `PATCH /_sandbox/guilds/:guildId/roles/:roleId`: the owner moves or edits a role; answers the role. */
export const editRoleAsOwner = (
  sandbox: Sandbox,
  guildId: string,
  roleId: string,
  fields: EditRoleFields,
): Promise<APIRole> =>
  control(
    sandbox,
    `/guilds/${guildId}/roles/${roleId}`,
    json('PATCH', {
      ...fields,
      ...(fields.permissions === undefined ? {} : { permissions: String(fields.permissions) }),
    }),
    200,
  );

/** `PUT /_sandbox/guilds/:guildId/members/:userId/roles/:roleId`: a moderator gives a member a role. */
export const addMemberRoleByHand = (sandbox: Sandbox, guildId: string, userId: string, roleId: string): Promise<void> =>
  control(sandbox, `/guilds/${guildId}/members/${userId}/roles/${roleId}`, { method: 'PUT' }, 204);

/** `DELETE /_sandbox/guilds/:guildId/members/:userId/roles/:roleId`: a moderator takes a role away. */
export const removeMemberRoleByHand = (
  sandbox: Sandbox,
  guildId: string,
  userId: string,
  roleId: string,
): Promise<void> => control(sandbox, `/guilds/${guildId}/members/${userId}/roles/${roleId}`, { method: 'DELETE' }, 204);

/** `PUT /_sandbox/guilds/:guildId/members/:userId` `{roles}`: a moderator sets the member's roles. */
export const setMemberRolesByHand = (
  sandbox: Sandbox,
  guildId: string,
  userId: string,
  roles: string[],
): Promise<{ roles: string[]; pending: boolean }> =>
  control(sandbox, `/guilds/${guildId}/members/${userId}`, json('PUT', { roles }), 200);

/** `POST /_sandbox/guilds/:guildId/members/bulk`: thousands of members (users created as needed) in one call. */
export const addMembersInBulk = (
  sandbox: Sandbox,
  guildId: string,
  userIds: string[],
  roles?: string[],
): Promise<{ added: number; alreadyMembers: number }> =>
  control(sandbox, `/guilds/${guildId}/members/bulk`, json('POST', { userIds, roles }), 200);

/** `count` consecutive snowflakes from `first` (ascending, as List Guild Members pages them). */
export function consecutiveUserIds(count: number, first = 500_000_000_000_000_000n): string[] {
  return Array.from({ length: count }, (_, index) => String(first + BigInt(index)));
}

// Discord's official OpenAPI description (test/fixtures/discord-api-spec/openapi.json), loaded on
// first use: the sandbox's real answers are checked against it.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface SpecOperation {
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: Json }> }>;
  requestBody?: { content: Record<string, { schema: Json }> };
}
export interface DiscordSpec {
  paths: Record<string, Record<string, SpecOperation>>;
  components: {
    schemas: Record<string, Json>;
    responses: Record<string, { content?: Record<string, { schema: Json }> }>;
  };
}

const SPEC_ID = 'https://discord.example/openapi.json';
let specAjv: { spec: DiscordSpec; ajv: Ajv2020; validators: Map<string, ValidateFunction> } | undefined;

function loadSpec() {
  if (specAjv) return specAjv;
  const spec = JSON.parse(
    readFileSync(new URL('../fixtures/discord-api-spec/openapi.json', import.meta.url), 'utf8'),
  ) as DiscordSpec;
  // ajv-formats is CommonJS: its default export arrives wrapped under ESM.
  const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
    addFormatsModule) as typeof addFormatsModule;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat('snowflake', /^(0|[1-9][0-9]*)$/);
  ajv.addFormat('int32', {
    type: 'number',
    validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31,
  });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat('double', { type: 'number', validate: () => true });
  ajv.addFormat('nonce', true);
  ajv.addSchema({ $id: SPEC_ID, components: spec.components as unknown as Json } as Record<string, unknown>);
  specAjv = { spec, ajv, validators: new Map() };
  return specAjv;
}

/** The parsed description. */
export const discordSpec = (): DiscordSpec => loadSpec().spec;

/** Points every local `#/...` ref of an inline schema at the spec document added above. */
function rebase(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(rebase);
  if (schema && typeof schema === 'object') {
    return Object.fromEntries(
      Object.entries(schema).map(([key, value]) => [
        key,
        key === '$ref' && typeof value === 'string' && value.startsWith('#/') ? `${SPEC_ID}${value}` : rebase(value),
      ]),
    );
  }
  return schema;
}

function compile(key: string, schema: Json): ValidateFunction {
  const { ajv, validators } = loadSpec();
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv.compile(rebase(schema) as Record<string, unknown>);
    validators.set(key, validate);
  }
  return validate;
}

/** A validator of the spec's `components/schemas/<name>`. */
export function discordSpecSchema(name: string): ValidateFunction {
  return compile(name, { $ref: `#/components/schemas/${name}` });
}

/** The spec's JSON schema for `status` of `METHOD path` (exact status, else `4XX`), or undefined when it has no body. */
function responseSchema(method: string, path: string, status: number): { documented: boolean; schema?: Json } {
  const { spec } = loadSpec();
  const operation = spec.paths[path]?.[method.toLowerCase()];
  if (!operation) throw new Error(`The spec has no ${method} ${path}`);
  const response = operation.responses[String(status)] ?? operation.responses[`${String(status)[0]}XX`];
  if (!response) return { documented: false };
  const resolved = response.$ref
    ? spec.components.responses[response.$ref.replace('#/components/responses/', '')]
    : response;
  return { documented: true, schema: resolved?.content?.['application/json']?.schema };
}

/**
 * Asserts that a real answer of the sandbox has a status the spec documents for `METHOD path`
 * (the spec's template, e.g. `/guilds/{guild_id}/members`) and a body its schema accepts; the body.
 */
export async function expectConformsToDiscordSpec(res: Response, method: string, path: string): Promise<unknown> {
  const { documented, schema } = responseSchema(method, path, res.status);
  expect({ route: `${method} ${path}`, status: res.status, documented }).toEqual({
    route: `${method} ${path}`,
    status: res.status,
    documented: true,
  });
  const text = await res.text();
  if (!schema) {
    expect(text).toBe('');
    return undefined;
  }
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = JSON.parse(text) as unknown;
  const validate = compile(`${method} ${path} ${res.status}`, schema);
  const valid = validate(withoutFieldErrors(body));
  expect({ route: `${method} ${path} ${res.status}`, errors: valid ? null : validate.errors }).toEqual({
    route: `${method} ${path} ${res.status}`,
    errors: null,
  });
  // The five rate-limit headers the spec describes: integers and numbers.
  expect(res.headers.get('x-ratelimit-limit') ?? '0').toMatch(/^\d+$/);
  expect(res.headers.get('x-ratelimit-remaining') ?? '0').toMatch(/^\d+$/);
  expect(Number.isFinite(Number(res.headers.get('x-ratelimit-reset') ?? '0'))).toBe(true);
  expect(Number.isFinite(Number(res.headers.get('x-ratelimit-reset-after') ?? '0'))).toBe(true);
  return body;
}

/**
 * Known disagreement between the spec and Discord: the spec types the nested field errors of a
 * 50035 answer (`errors.<field>._errors[].code`) as integers, but Discord sends strings such as
 * "BASE_TYPE_BAD_LENGTH" (its documentation, and discord-api-types' RESTErrorFieldInformation,
 * say string; Discord says the documentation wins where the two disagree). The sandbox follows
 * Discord, so the `errors` tree is checked here against the spec's shape with string codes, and
 * the rest of the body against the spec itself.
 */
let fieldErrors: ValidateFunction | undefined;

function withoutFieldErrors(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || !('errors' in body)) return body;
  const { errors, ...rest } = body as { errors: unknown };
  fieldErrors ??= loadSpec().ajv.compile({
    $defs: {
      details: {
        oneOf: [
          { type: 'object', additionalProperties: { $ref: '#/$defs/details' }, not: { required: ['_errors'] } },
          {
            type: 'object',
            additionalProperties: false,
            required: ['_errors'],
            properties: {
              _errors: {
                type: 'array',
                minItems: 1,
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['code', 'message'],
                  properties: { code: { type: 'string', pattern: '^[A-Z0-9_]+$' }, message: { type: 'string' } },
                },
              },
            },
          },
        ],
      },
    },
    $ref: '#/$defs/details',
  });
  expect(fieldErrors(errors) ? null : fieldErrors.errors).toBeNull();
  return rest;
}
