/**
 * The API's OpenAPI 3.1 description, generated from the zod schemas the routes parse with
 * (src/http/schemas.ts) and the error codes they answer with (src/http/error-codes.ts). Served at
 * `GET /api/openapi.json`; `GET /api/docs` renders it. Integration tests check every answer of the
 * app against it, and the fuzz test sends what it allows (and what it forbids).
 */
import { z } from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiResponsesObject } from 'zod-openapi';
import { packageVersion } from '../build-info.js';
import { errorCodes, type ErrorCode } from './error-codes.js';
import * as s from './schemas.js';

type Status = '400' | '401' | '403' | '404' | '409' | '413' | '422' | '429' | '503';

const retryAfter = z.string().meta({ description: 'Seconds to wait before trying again.', example: '5' });

/** One documented error answer per status, listing the codes it may carry and what each means. */
function errors(byStatus: Partial<Record<Status, ErrorCode[]>>): ZodOpenApiResponsesObject {
  const out: ZodOpenApiResponsesObject = {};
  for (const [status, codes] of Object.entries(byStatus) as Array<[Status, ErrorCode[]]>) {
    for (const code of codes) {
      if (String(errorCodes[code].status) !== status)
        throw new Error(`${code} is a ${errorCodes[code].status}, not ${status}`);
    }
    out[status] = {
      description: codes.map((code) => `\`${code}\`: ${errorCodes[code].meaning}`).join('\n\n'),
      ...(status === '429' || status === '503' ? { headers: z.object({ 'Retry-After': retryAfter }) } : {}),
      content: { 'application/json': { schema: s.errorResponseWith(codes) } },
    };
  }
  out['500'] = {
    description: `\`internal_error\`: ${errorCodes.internal_error.meaning}`,
    content: { 'application/json': { schema: s.errorResponseWith(['internal_error']) } },
  };
  return out;
}

const json = (description: string, schema: z.ZodType, headers?: z.ZodObject) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema } },
});

const redirect = (description: string) => ({
  description,
  headers: z.object({ Location: z.string().meta({ description: 'Where the browser goes next.' }) }),
});

/** Errors every route can meet: an unreadable request. */
const UNREADABLE: ErrorCode[] = ['bad_request'];
/** Routes that read a JSON body. */
const BODY: ErrorCode[] = ['invalid_request', 'invalid_json', 'bad_request'];
/** POST routes that read no body: one sent is still parsed, so it must be JSON. */
const BODY_IGNORED: ErrorCode[] = ['invalid_json', 'bad_request'];
/** Signed-in routes. */
const SESSION = { '401': ['unauthorized'] } as const satisfies Partial<Record<Status, ErrorCode[]>>;
/** State-changing signed-in routes: the CSRF check too. */
const SESSION_WRITE = { '401': ['unauthorized'], '403': ['csrf_rejected', 'forbidden'] } as const satisfies Partial<
  Record<Status, ErrorCode[]>
>;
const TEMPORAL = { '503': ['temporal_unavailable'] } as const satisfies Partial<Record<Status, ErrorCode[]>>;

const applicationId = z.object({ id: z.uuid().meta({ description: 'The application.' }) });
const slug = z.object({ slug: s.organizationSlug });
const idempotencyHeader = z.object({
  'Idempotency-Key': s.idempotencyKey.optional().meta({
    description:
      'Any 1–100 visible ASCII characters, a UUID for example. The same request again with the same key gets the first answer and changes nothing more; the same key with another request is refused (422 `idempotency_key_reused`).',
  }),
});
const session = [{ session: [] }];
const tags = {
  auth: 'Sign-in',
  applications: 'Applications',
  public: 'Public application form',
  discord: 'Discord connection',
  organization: 'Organization',
  forms: 'Forms',
  ops: 'Operations',
};

/** The public form's refusals: 409 is `already_applied`, or `cooldown` with when to apply again. */
const submissionErrors: ZodOpenApiResponsesObject = {
  ...errors({
    '400': BODY,
    '403': ['discord_sign_in_required', 'csrf_rejected'],
    '404': ['not_found'],
    '413': ['payload_too_large'],
    '429': ['too_many_requests'],
  }),
  '409': {
    description: `\`already_applied\`: ${errorCodes.already_applied.meaning}\n\n\`cooldown\`: ${errorCodes.cooldown.meaning}`,
    headers: z.object({
      'Retry-After': z
        .string()
        .optional()
        .meta({ description: 'With `cooldown`: seconds until the applicant may apply again.', example: '86400' }),
    }),
    content: { 'application/json': { schema: z.union([s.errorResponseWith(['already_applied']), s.cooldownError]) } },
  },
};

const operations: Record<string, Record<string, ZodOpenApiOperationObject>> = {
  '/healthz': {
    get: {
      tags: [tags.ops],
      summary: 'Liveness: the process answers',
      responses: { '200': json('Alive.', s.liveness) },
    },
  },
  '/readyz': {
    get: {
      tags: [tags.ops],
      summary: 'Readiness: Postgres and Temporal answer',
      description:
        '`degraded` (still 200) when Discord refused the bot token: reviews work, grants are paused. 503 when Postgres or Temporal is unreachable.',
      responses: {
        '200': json('Ready, or degraded.', s.readiness),
        '503': json('Postgres or Temporal is unreachable; `problems` says which.', s.readiness),
      },
    },
  },
  '/api/openapi.json': {
    get: {
      tags: [tags.ops],
      summary: 'This description',
      responses: { '200': { description: 'The OpenAPI 3.1 document.', content: { 'application/json': {} } } },
    },
  },
  '/api/docs': {
    get: {
      tags: [tags.ops],
      summary: 'This description, as a readable page',
      responses: {
        '200': { description: 'An HTML page (Swagger UI, served from this API).', content: { 'text/html': {} } },
      },
    },
  },
  '/api/config': {
    get: {
      tags: [tags.ops],
      summary: 'What the web UI needs before sign-in',
      responses: { '200': json('The settings.', s.uiConfig), ...errors({ '400': UNREADABLE }) },
    },
  },
  '/api/auth/login': {
    post: {
      tags: [tags.auth],
      summary: 'Sign in with email and password',
      description:
        'Sets the `sid` session cookie (HttpOnly, SameSite=Lax, Secure in production). Failed attempts are limited per address and email (10 / 15 min), per address (50 / 15 min) and per account from any address (20 / 15 min: `account_locked`).',
      requestBody: { required: true, content: { 'application/json': { schema: s.loginRequest } } },
      responses: {
        '200': json(
          'Signed in.',
          s.signedIn,
          z.object({ 'Set-Cookie': z.string().meta({ description: 'The `sid` session cookie.' }) }),
        ),
        ...errors({
          '400': BODY,
          '401': ['invalid_credentials'],
          '403': ['csrf_rejected'],
          '413': ['payload_too_large'],
          '429': ['too_many_requests', 'account_locked'],
        }),
      },
    },
  },
  '/api/auth/logout': {
    post: {
      tags: [tags.auth],
      summary: 'Sign out',
      description: 'Ends the session, if any, and clears the cookie. Always 204.',
      responses: {
        '204': { description: 'Signed out.' },
        ...errors({ '400': BODY_IGNORED, '403': ['csrf_rejected'], '413': ['payload_too_large'] }),
      },
    },
  },
  '/api/me': {
    get: {
      tags: [tags.auth],
      summary: 'Who is signed in',
      security: session,
      responses: {
        '200': json('The user and their organization.', s.signedIn),
        ...errors({ '400': UNREADABLE, ...SESSION }),
      },
    },
  },
  '/api/public/organizations/{slug}/applications': {
    post: {
      tags: [tags.public],
      summary: "Apply to the organization's default form (public form)",
      description:
        "The address of the public form before forms existed: an application to the organization's default form (`isDefault`). It takes the same `answers` as `POST /api/public/organizations/{slug}/forms/{formSlug}/applications` (none when the default form has no questions), which is the address to prefer. Anyone may apply; organizations that require it accept only applicants signed in with Discord on this browser (the `applicant_session` cookie set by the sign-in below), and the role then goes to that account only. At most one live application per Discord account. A rejected applicant waits the form's cooldown before applying to it again (409 `cooldown`). Limited to 30 per minute per client address (both addresses together).",
      requestParams: { path: slug },
      requestBody: { required: true, content: { 'application/json': { schema: s.applicationSubmission } } },
      responses: {
        '201': json(
          "Stored; a reviewer will decide. `statusUrl` is the applicant's private status link.",
          s.applicationCreated,
        ),
        ...submissionErrors,
      },
    },
  },
  '/api/public/organizations/{slug}/form': {
    get: {
      tags: [tags.public],
      summary: "The organization's default form (`/apply/<organization>`), as the form's own address shows it",
      description:
        'The form that `POST /api/public/organizations/{slug}/applications` answers; `form.slug` is its own address.',
      requestParams: { path: slug },
      responses: {
        '200': json('The default form.', s.publicForm),
        ...errors({ '400': UNREADABLE, '404': ['not_found'], '429': ['too_many_requests'] }),
      },
    },
  },
  '/api/public/organizations/{slug}/forms/{formSlug}': {
    get: {
      tags: [tags.public],
      summary: 'A form to answer: its questions (current version) and the organization',
      requestParams: { path: s.publicFormPath },
      responses: {
        '200': json('The form.', s.publicForm),
        ...errors({ '400': UNREADABLE, '404': ['not_found'], '429': ['too_many_requests'] }),
      },
    },
  },
  '/api/public/organizations/{slug}/forms/{formSlug}/applications': {
    post: {
      tags: [tags.public],
      summary: 'Apply: answer a form (public form)',
      description:
        "The answers are checked against the form's current version (read in the same transaction as the application is stored); a wrong one is a 400 naming it (`answers.why_join: must be at most 2000 characters`), an unknown question id too, and nothing is stored. The application keeps the version it answered. Sign-in, one live application per account, the cooldown and the rate limit as for the default form's address.",
      requestParams: { path: s.publicFormPath },
      requestBody: { required: true, content: { 'application/json': { schema: s.formSubmission } } },
      responses: {
        '201': json(
          "Stored; a reviewer will decide. `statusUrl` is the applicant's private status link.",
          s.applicationCreated,
        ),
        ...submissionErrors,
      },
    },
  },
  '/api/public/organizations/{slug}/applicant': {
    get: {
      tags: [tags.public],
      summary: 'The form: the organization, and who is signed in with Discord here',
      requestParams: { path: slug },
      responses: {
        '200': json(
          'The organization and the applicant, if signed in, with their applications here and their status links.',
          s.applicantSignIn,
        ),
        ...errors({ '400': UNREADABLE, '404': ['not_found'] }),
      },
    },
  },
  '/api/public/applications/{id}/status': {
    get: {
      tags: [tags.public],
      summary: "The applicant's status page",
      description:
        "What the applicant's private link (`/status/<id>?token=...`, given after submitting and in decision emails) shows: received, approved (the role on its way, or granted with a link to the server), rejected; the reviewer's note only when the form shares notes. A wrong, missing or malformed token and an unknown application are the same 404. Limited to 60 per minute per client address.",
      requestParams: {
        path: z.object({ id: z.string().meta({ description: "The application's ID." }) }),
        query: s.applicantStatusQuery,
      },
      responses: {
        '200': json('Where the application stands.', s.applicantStatus),
        ...errors({ '400': UNREADABLE, '404': ['not_found'], '429': ['too_many_requests'] }),
      },
    },
  },
  '/api/public/organizations/{slug}/discord/authorize': {
    get: {
      tags: [tags.public],
      summary: "Start an applicant's Discord sign-in",
      description:
        "Redirects to Discord's consent page (`identify guilds.join`) with a signed, expiring, single-use state bound to this browser by the `applicant_login` cookie. With `application`, re-authorizes an application whose grant waits for a new sign-in.",
      requestParams: {
        path: slug,
        query: s.applicantAuthorizeQuery,
      },
      responses: {
        '302': redirect("To Discord's consent page."),
        ...errors({ '400': ['invalid_request', 'bad_request'], '404': ['not_found'], '429': ['too_many_requests'] }),
      },
    },
  },
  '/api/public/discord/callback': {
    get: {
      tags: [tags.public],
      summary: "Discord's redirect after an applicant's sign-in",
      description:
        'Always a redirect back to the form: `?verified=1`, `?reauthorized=1`, or `?error=` one of `invalid_state`, `access_denied`, `token_exchange_failed`, `wrong_account`, `too_many_attempts`, `temporarily_unavailable` (Temporal unreachable: sign in again in a moment), `unexpected_error` (a fault on our side). Back to `/apply` without the organization when the state does not name one.',
      requestParams: {
        query: z.object({
          state: z.string().optional(),
          code: z.string().optional(),
          error: z.string().optional(),
        }),
      },
      // Every failure too is a redirect (src/http/errors.ts, oauthCallbackFailures).
      responses: { '302': redirect('Back to the application form.') },
    },
  },
  '/api/applications': {
    get: {
      tags: [tags.applications],
      summary: "List the organization's applications, newest first",
      security: session,
      requestParams: { query: s.listApplicationsQuery },
      responses: {
        '200': json('A page.', s.applicationPage),
        ...errors({ '400': ['invalid_request', 'invalid_cursor', 'bad_request'], ...SESSION, '403': ['forbidden'] }),
      },
    },
  },
  '/api/forms': {
    get: {
      tags: [tags.forms],
      summary: "The organization's forms, each at its current version",
      security: session,
      responses: {
        '200': json('The forms, the default first.', s.formList),
        ...errors({ '400': UNREADABLE, ...SESSION, '403': ['forbidden'] }),
      },
    },
    post: {
      tags: [tags.forms],
      summary: 'Create a form (admins)',
      security: session,
      requestBody: { required: true, content: { 'application/json': { schema: s.formRequest } } },
      responses: {
        '201': json('Created, at version 1.', s.form),
        ...errors({
          '400': BODY,
          ...SESSION_WRITE,
          '409': ['form_slug_taken'],
          '413': ['payload_too_large'],
          '422': ['duplicate_question_id'],
        }),
      },
    },
  },
  '/api/forms/{formId}': {
    get: {
      tags: [tags.forms],
      summary: 'One form, at its current version or an older one',
      security: session,
      requestParams: { path: s.formIdParam, query: s.formQuery },
      responses: {
        '200': json('The form, with the questions of the version asked for.', s.form),
        ...errors({
          '400': ['invalid_request', 'bad_request'],
          ...SESSION,
          '403': ['forbidden'],
          '404': ['not_found'],
        }),
      },
    },
    put: {
      tags: [tags.forms],
      summary: 'Change a form (admins)',
      description:
        'The whole definition. When applications answered the current version, the change is a new version (version + 1) and they keep theirs; otherwise the current version changes in place. Two changes at once take turns. The default form stays the default (its slug may change).',
      security: session,
      requestParams: { path: s.formIdParam },
      requestBody: { required: true, content: { 'application/json': { schema: s.formRequest } } },
      responses: {
        '200': json('The form as saved.', s.form),
        ...errors({
          '400': BODY,
          ...SESSION_WRITE,
          '404': ['not_found'],
          '409': ['form_slug_taken'],
          '413': ['payload_too_large'],
          '422': ['duplicate_question_id'],
        }),
      },
    },
  },
  '/api/applications/export.csv': {
    get: {
      tags: [tags.forms],
      summary: "Download a form's applications as CSV (admins)",
      description:
        "UTF-8 with a byte order mark, one row per application, oldest first: id, submitted at, status, role status, name, email, Discord user id, verified, reviewed by, reviewed at, note, form version, then one column per question (the current version's, then those only older versions had; a multiple choice's options joined with `; `, a checkbox as yes/no). A cell that a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) starts with `'`.",
      security: session,
      requestParams: { query: s.exportQuery },
      responses: {
        '200': {
          description: 'The CSV file.',
          headers: z.object({
            'Content-Disposition': z
              .string()
              .meta({ description: '`attachment; filename="<form slug>-applications.csv"`.' }),
          }),
          content: { 'text/csv': { schema: z.string() } },
        },
        ...errors({
          '400': ['invalid_request', 'bad_request'],
          ...SESSION,
          '403': ['forbidden'],
          '404': ['not_found'],
        }),
      },
    },
  },
  '/api/applications/{id}': {
    get: {
      tags: [tags.applications],
      summary: 'One application',
      security: session,
      requestParams: { path: applicationId },
      responses: {
        '200': json('The application, with its readiness when pending.', s.listedApplication),
        ...errors({ '400': UNREADABLE, ...SESSION, '403': ['forbidden'], '404': ['not_found'] }),
      },
    },
  },
  '/api/applications/{id}/review': {
    post: {
      tags: [tags.applications],
      summary: 'Approve or reject',
      description:
        "Recorded by the application's workflow; an approval then grants the role in the background (`roleAssignment.status` `pending`, then `success` or `failed`). Approving an approved application, or rejecting a rejected one, is answered with the stored application and changes nothing.",
      security: session,
      requestParams: { path: applicationId, header: idempotencyHeader },
      requestBody: { required: true, content: { 'application/json': { schema: s.reviewRequest } } },
      responses: {
        '200': json('The application after the review.', s.application),
        ...errors({
          '400': [...BODY, 'invalid_idempotency_key'],
          ...SESSION_WRITE,
          '404': ['not_found'],
          '409': ['invalid_transition'],
          '413': ['payload_too_large'],
          '422': ['idempotency_key_reused'],
          '503': ['database_unavailable', 'temporal_unavailable'],
        }),
      },
    },
  },
  '/api/applications/bulk-review': {
    post: {
      tags: [tags.applications],
      summary: 'Approve or reject many applications at once',
      description:
        'Answered at once with 202; the reviews are recorded in the background. Follow `Location` (`GET /api/bulk-reviews/{id}`) for progress. The body may be up to 1 MB.',
      security: session,
      requestParams: { header: idempotencyHeader },
      requestBody: { required: true, content: { 'application/json': { schema: s.bulkReviewRequest } } },
      responses: {
        '202': json(
          'Accepted.',
          s.bulkReviewAccepted,
          z.object({ Location: z.string().meta({ description: 'The progress resource.' }) }),
        ),
        ...errors({
          '400': [...BODY, 'invalid_idempotency_key'],
          ...SESSION_WRITE,
          '413': ['payload_too_large'],
          '422': ['idempotency_key_reused'],
          ...TEMPORAL,
        }),
      },
    },
  },
  '/api/bulk-reviews/{id}': {
    get: {
      tags: [tags.applications],
      summary: "A bulk review's progress",
      security: session,
      requestParams: { path: z.object({ id: z.uuid().meta({ description: 'The bulk review.' }) }) },
      responses: {
        '200': json('Where it stands.', s.bulkReviewProgress),
        ...errors({ '400': UNREADABLE, ...SESSION, '403': ['forbidden'], '404': ['not_found'] }),
      },
    },
  },
  '/api/applications/{id}/retry-role': {
    post: {
      tags: [tags.applications],
      summary: 'Retry a failed role assignment',
      description:
        'At most 5 manual retries per application. Answered with 202 and the application as stored now; the retry runs in its workflow.',
      security: session,
      requestParams: { path: applicationId, header: idempotencyHeader },
      responses: {
        '202': json('The retry is on its way.', s.application),
        ...errors({
          '400': [...BODY_IGNORED, 'invalid_idempotency_key'],
          ...SESSION_WRITE,
          '404': ['not_found'],
          '409': ['not_retryable'],
          '413': ['payload_too_large'],
          '422': ['retry_limit_reached'],
          ...TEMPORAL,
        }),
      },
    },
  },
  '/api/ops/stuck-assignments': {
    get: {
      tags: [tags.ops],
      summary: 'Role assignments that failed, or have been pending too long (admins)',
      security: session,
      requestParams: { query: s.stuckAssignmentsQuery },
      responses: {
        '200': json('Oldest first.', s.stuckAssignments),
        ...errors({ '400': ['invalid_request', 'bad_request'], ...SESSION, '403': ['forbidden'] }),
      },
    },
  },
  '/api/reconciliation-runs': {
    get: {
      tags: [tags.ops],
      summary: 'Reconciliation runs: health checks and drift repairs, newest first (admins)',
      description:
        'Each run (scheduled, "Check now", or "Re-apply to approved members") with what its health check found, how many members it compared and what drift it found, repaired or only reported.',
      security: session,
      requestParams: { query: s.reconciliationRunsQuery },
      responses: {
        '200': json('The latest runs.', s.reconciliationRuns),
        ...errors({ '400': ['invalid_request', 'bad_request'], ...SESSION, '403': ['forbidden'] }),
      },
    },
  },
  '/api/applications/{id}/timeline': {
    get: {
      tags: [tags.applications],
      summary: "An application's history, oldest first",
      description:
        'Every audit-log entry about the application as a sentence: submitted, each review with its reviewer and note, each role change and its outcome, manual retries, reversals, what the scheduled checks found and repaired.',
      security: session,
      requestParams: { path: applicationId },
      responses: {
        '200': json('The timeline.', s.applicationTimeline),
        ...errors({ '400': UNREADABLE, ...SESSION, '403': ['forbidden'], '404': ['not_found'] }),
      },
    },
  },
  '/api/audit-log': {
    get: {
      tags: [tags.ops],
      summary: "The organization's audit log, newest first, filtered (admins)",
      description:
        'Who did what and when: sign-ins, reviews, role changes, settings, form edits. Filters combine; page with `cursor`.',
      security: session,
      requestParams: { query: s.auditLogQuery },
      responses: {
        '200': json('One page of entries.', s.auditLogPage),
        ...errors({ '400': ['invalid_request', 'bad_request'], ...SESSION, '403': ['forbidden'] }),
      },
    },
  },
  '/api/organization/settings': {
    get: {
      tags: [tags.organization],
      summary: "The organization's settings (admins)",
      security: session,
      responses: {
        '200': json('The settings.', s.organizationSettings),
        ...errors({ '400': UNREADABLE, ...SESSION, '403': ['forbidden'], '404': ['not_found'] }),
      },
    },
    patch: {
      tags: [tags.organization],
      summary: 'Change settings (admins)',
      security: session,
      requestBody: { required: true, content: { 'application/json': { schema: s.organizationSettingsPatch } } },
      responses: {
        '200': json('The settings now.', s.organizationSettings),
        ...errors({ '400': BODY, ...SESSION_WRITE, '413': ['payload_too_large'] }),
      },
    },
  },
  '/api/discord/connect': {
    get: {
      tags: [tags.discord],
      summary: "Connect the organization's Discord server (admins)",
      description:
        "Redirects to Discord's bot authorization with a signed, expiring, single-use state bound to this session; Discord comes back to `/api/discord/bot-callback`.",
      security: session,
      responses: {
        '302': redirect("To Discord's bot authorization (or back to Settings with `?error=forbidden`)."),
        ...errors({ '400': UNREADABLE, ...SESSION, '403': ['forbidden'] }),
      },
    },
  },
  '/api/discord/bot-callback': {
    get: {
      tags: [tags.discord],
      summary: "Discord's redirect after the bot authorization",
      description:
        'Always a redirect to Settings: `?success=bot_connected`, `?status=connecting`, or `?error=` one of `access_denied`, `invalid_state`, `unauthorized`, `forbidden`, `user_not_found`, `already_connected`, `connection_in_progress`, `too_many_attempts`, `token_exchange_failed`, `missing_permissions`, `unsafe_role`, `role_creation_failed`, `save_config_failed`, `unexpected_error`, `temporarily_unavailable` (Temporal unreachable: connect again in a moment).',
      requestParams: {
        query: z.object({
          state: z.string().optional(),
          code: z.string().optional(),
          error: z.string().optional(),
          guild_id: z.string().optional(),
          permissions: z.string().optional(),
        }),
      },
      responses: { '302': redirect('To Settings.') },
    },
  },
  '/api/discord/connection': {
    get: {
      tags: [tags.discord],
      summary: "The organization's Discord connection",
      security: session,
      responses: { '200': json('Where it stands.', s.discordConnection), ...errors({ '400': UNREADABLE, ...SESSION }) },
    },
    delete: {
      tags: [tags.discord],
      summary: 'Disconnect: the bot leaves the server (admins)',
      security: session,
      responses: {
        '202': json('Disconnecting, or done.', s.disconnectAccepted),
        ...errors({ '400': UNREADABLE, ...SESSION_WRITE, '409': ['connection_in_progress'], ...TEMPORAL }),
      },
    },
  },
  '/api/discord/connection/check': {
    post: {
      tags: [tags.discord],
      summary: '"Check now": look at the bot\'s access, resume paused grants once fixed (admins)',
      description:
        'Also records a health check (a reconciliation run): `health` is the last finished one, which is this check once it finished within the wait.',
      security: session,
      responses: {
        '200': json('What the check found.', s.connectionCheck),
        ...errors({
          '400': BODY_IGNORED,
          ...SESSION_WRITE,
          '409': ['connection_in_progress'],
          '413': ['payload_too_large'],
          ...TEMPORAL,
        }),
      },
    },
  },
  '/api/discord/roles': {
    get: {
      tags: [tags.discord],
      summary: "The server's roles, and which approval may add or remove (admins)",
      description:
        "Asks Discord now (through a short workflow). A role approval cannot add (`manageable: false`) or remove (`removable: false`) comes with the reason: at or above the bot's highest role, managed by an integration, @everyone, or (to add) carrying permissions.",
      security: session,
      responses: {
        '200': json("The roles, highest first, and the organization's choice.", s.guildRoles),
        ...errors({
          '400': UNREADABLE,
          ...SESSION,
          '403': ['forbidden'],
          '409': ['not_connected'],
          '503': ['discord_unavailable', 'temporal_unavailable'],
        }),
      },
    },
  },
  '/api/discord/role-settings': {
    put: {
      tags: [tags.discord],
      summary: 'Choose the roles approval adds and removes (admins)',
      description:
        'Each role is checked against Discord as it is now: one not in the server, or one the bot may not add (or remove), refuses the whole choice with 422 `role_not_manageable` naming the role and why. Nothing is stored then. Applies to new grants; `POST /api/discord/role-settings/reapply` gives approved members the new choice.',
      security: session,
      requestBody: { required: true, content: { 'application/json': { schema: s.roleSettingsRequest } } },
      responses: {
        '200': json('Saved: the connection as `GET /api/discord/connection` shows it.', s.discordConnection),
        ...errors({
          '400': BODY,
          ...SESSION_WRITE,
          '409': ['not_connected'],
          '413': ['payload_too_large'],
          '422': ['role_not_manageable'],
          '503': ['discord_unavailable', 'temporal_unavailable'],
        }),
      },
    },
  },
  '/api/discord/role-settings/reapply': {
    post: {
      tags: [tags.discord],
      summary: 'Re-apply the roles to every approved member (admins)',
      description:
        'Starts a reconciliation that gives approved members the roles approval adds now and takes those it removes, whatever the drift repair setting. Follow it in `GET /api/reconciliation-runs`. Refused with `not_connected` while grants are paused.',
      security: session,
      responses: {
        '202': json('Started.', s.roleReapplyAccepted),
        ...errors({
          '400': BODY_IGNORED,
          ...SESSION_WRITE,
          '409': ['not_connected'],
          '413': ['payload_too_large'],
          ...TEMPORAL,
        }),
      },
    },
  },
};

const description = `Review membership applications and grant approved applicants a role in the organization's Discord server.

## Authentication

Staff sign in with \`POST /api/auth/login\`, which sets the \`sid\` cookie (HttpOnly, SameSite=Lax, Secure in production). Routes marked with the lock need it; admin-only routes answer 403 \`forbidden\` to reviewers. Applicants never sign in here: on the public form they may sign in with Discord, which sets the \`applicant_session\` cookie used by the next application.

## CSRF

A \`POST\`, \`PUT\`, \`PATCH\` or \`DELETE\` that carries the \`sid\` or \`applicant_session\` cookie must come from the app's own origin: its \`Origin\` header must equal the origin of \`PUBLIC_BASE_URL\` (or, when a browser sends no \`Origin\`, \`Sec-Fetch-Site: same-origin\`). Otherwise: 403 \`csrf_rejected\`, and nothing happens. Requests without those cookies are not affected.

## Errors

Every error is \`{"error": {"code": "...", "message": "..."}}\`: the code is stable and meant for programs, the message is for people and names the field at fault. A refused request stores nothing.

| code | status | meaning |
| --- | --- | --- |
${Object.entries(errorCodes)
  .map(([code, { status, meaning }]) => `| \`${code}\` | ${status} | ${meaning} |`)
  .join('\n')}

## Text

Names and a single review's note are trimmed; control characters are refused everywhere (tabs and line breaks are allowed in notes and form answers), as is text that is not valid Unicode.`;

let cached: ReturnType<typeof createDocument> | undefined;

/** The OpenAPI 3.1 document of this API (built once). */
export function openApiDocument(): ReturnType<typeof createDocument> {
  cached ??= createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Discord role grants API',
      version: packageVersion(),
      description,
    },
    tags: Object.values(tags).map((name) => ({ name })),
    components: {
      // Every error answer has this shape; each route's lists the codes it may carry.
      schemas: { Error: s.errorResponse },
      securitySchemes: {
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: 'sid',
          description: 'The session cookie set by `POST /api/auth/login`.',
        },
      },
    },
    paths: operations,
  });
  return cached;
}
