/**
 * The HTTP API's shapes, in one place: the routes parse requests with these schemas, and the
 * OpenAPI description (src/http/openapi.ts) is generated from the very same ones, responses
 * included, so the document cannot say one thing while the code does another.
 */
import { z } from 'zod';
import 'zod-openapi';
import { applicationStatuses, roleAssignmentStatuses } from '../domain/application-lifecycle.js';
import { DISCORD_ID_PATTERN } from '../domain/discord-id.js';
import { applicantStatuses } from '../domain/applicant-status.js';
import { MAX_BULK_REVIEW_IDS } from '../domain/bulk-review.js';
import { healthFindingKinds } from '../domain/bot-health.js';
import { driftRepairModes } from '../domain/drift.js';
import { MAX_ADD_ROLES, MAX_REMOVE_ROLES } from '../discord/guild-roles.js';
import { SLUG_PATTERN } from '../db/organizations.js';
import { FORM_LIMITS, formInputSchema, questionSchema } from '../domain/form.js';
import { errorCodes, type ErrorCode } from './error-codes.js';

// --- Text from the public --------------------------------------------------------------------------

/* eslint-disable no-control-regex -- refusing control characters is the point of these patterns */
/** One line of text: no control characters at all (C0, DEL, C1). A NUL would not even fit in Postgres. */
const SINGLE_LINE = /^[^\u0000-\u001f\u007f-\u009f]*$/;
/** Text that may span lines: tabs and line breaks, but no other control character. */
const MULTI_LINE = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$/;
/* eslint-enable no-control-regex */

const NO_CONTROL_MESSAGE = 'must not contain control characters (such as NUL)';
const NO_CONTROL_MULTILINE_MESSAGE = 'must not contain control characters other than tabs and line breaks';

/** Unpaired UTF-16 surrogates cannot be stored as text (Postgres' jsonb refuses them outright). */
const wellFormed = (s: string) => s.isWellFormed();
const WELL_FORMED_MESSAGE = 'must be valid Unicode text';

/**
 * JavaScript's white space, as `String.prototype.trim` removes it: text made only of these is
 * empty. Spelled out because other regex engines (the fuzzer's) disagree about `\s`.
 */
const NOT_ONLY_SPACE = /[^\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]/;

/**
 * A line of text of at most `max` characters (counted before trimming), without control
 * characters; the value is trimmed. `required`: not empty once trimmed.
 */
export const singleLineText = (max: number, options: { required?: boolean } = {}) => {
  const text = z
    .string()
    .max(max, `must be at most ${max} characters`)
    .regex(SINGLE_LINE, NO_CONTROL_MESSAGE)
    .refine(wellFormed, WELL_FORMED_MESSAGE);
  return (options.required ? text.regex(NOT_ONLY_SPACE, 'is required') : text).trim();
};

/** Text of at most `max` characters that may span lines; trimmed unless told. */
export const multiLineText = (max: number, options: { trim?: boolean } = {}) => {
  const text = z
    .string()
    .max(max, `must be at most ${max} characters`)
    .regex(MULTI_LINE, NO_CONTROL_MULTILINE_MESSAGE)
    .refine(wellFormed, WELL_FORMED_MESSAGE);
  return options.trim === false ? text : text.trim();
};

// --- custom_data ----------------------------------------------------------------------------------

/** What an application's `custom_data` may hold; the README's limits table repeats these numbers. */
export const CUSTOM_DATA_LIMITS = {
  /** Keys of the object itself. */
  keys: 30,
  /** Entries of an object or array inside it. */
  entries: 30,
  /** `custom_data` is an object whose values may be objects or arrays of scalars: 3 levels in all. */
  depth: 3,
  keyLength: 100,
  stringLength: 2_000,
  /** The whole object, as JSON. */
  bytes: 16 * 1024,
} as const;

/** `__proto__` would vanish from the stored object (it is an object's prototype, not a key). */
const FORBIDDEN_KEY = '__proto__';

const customDataKeyRule = {
  minLength: 1,
  maxLength: CUSTOM_DATA_LIMITS.keyLength,
  pattern: SINGLE_LINE.source,
  not: { const: FORBIDDEN_KEY },
};

const customDataKey = z
  .string()
  .min(1, 'keys must not be empty')
  .max(CUSTOM_DATA_LIMITS.keyLength, `keys must be at most ${CUSTOM_DATA_LIMITS.keyLength} characters`)
  .regex(SINGLE_LINE, `keys ${NO_CONTROL_MESSAGE}`)
  .refine(wellFormed, `keys ${WELL_FORMED_MESSAGE}`)
  .refine((key) => key !== FORBIDDEN_KEY, `keys must not be ${FORBIDDEN_KEY}`)
  .meta({ override: { not: { const: FORBIDDEN_KEY } } });

const customDataScalar = z.union([
  z
    .string()
    .max(CUSTOM_DATA_LIMITS.stringLength, `texts must be at most ${CUSTOM_DATA_LIMITS.stringLength} characters`)
    .regex(MULTI_LINE, NO_CONTROL_MULTILINE_MESSAGE)
    .refine(wellFormed, WELL_FORMED_MESSAGE),
  z.number(),
  z.boolean(),
  z.null(),
]);

const customDataValue = z.union(
  [
    customDataScalar,
    z.array(customDataScalar).max(CUSTOM_DATA_LIMITS.entries),
    z
      .record(customDataKey, customDataScalar)
      .refine((o) => Object.keys(o).length <= CUSTOM_DATA_LIMITS.entries, {
        message: `must have at most ${CUSTOM_DATA_LIMITS.entries} keys`,
      })
      .meta({ maxProperties: CUSTOM_DATA_LIMITS.entries }),
  ],
  {
    error: `must be a text, a number, true, false, null, or an array or object of those (${CUSTOM_DATA_LIMITS.depth} levels in all)`,
  },
);

const discordIdMessage =
  'must be a Discord user ID: 17 to 20 digits, as a string (in Discord: Settings → Advanced → Developer Mode, then right-click your name → Copy User ID)';

/** A typed Discord user ID: a snowflake, or empty for none. */
const typedDiscordId = z
  .union([z.string().regex(DISCORD_ID_PATTERN, discordIdMessage), z.literal(''), z.null()], { error: discordIdMessage })
  .optional();

/** Where, in a parsed JSON value, a `__proto__` key is (zod skips such keys without a word). */
function forbiddenKeyPath(value: unknown, depth = 0): string[] | null {
  if (typeof value !== 'object' || value === null || depth > CUSTOM_DATA_LIMITS.depth) return null;
  for (const key of Object.keys(value)) {
    if (key === FORBIDDEN_KEY) return [key];
    const below = forbiddenKeyPath((value as Record<string, unknown>)[key], depth + 1);
    if (below) return [key, ...below];
  }
  return null;
}

const customDataObject = z
  .object({
    discord_user_id: typedDiscordId.meta({
      description:
        'The Discord user ID the role goes to, when the applicant did not sign in with Discord (a signed-in account replaces it).',
      example: '80351110224678912',
    }),
    discordUserId: typedDiscordId.meta({ description: 'A synonym of `discord_user_id`.' }),
  })
  .catchall(customDataValue)
  .superRefine((data, ctx) => {
    const keys = Object.keys(data);
    for (const key of keys) {
      const r = customDataKey.safeParse(key);
      if (!r.success) ctx.addIssue({ code: 'custom', path: [key], message: r.error.issues[0]!.message });
    }
    if (keys.length > CUSTOM_DATA_LIMITS.keys) {
      ctx.addIssue({
        code: 'custom',
        message: `must have at most ${CUSTOM_DATA_LIMITS.keys} keys (it has ${keys.length})`,
      });
    }
    const bytes = Buffer.byteLength(JSON.stringify(data));
    if (bytes > CUSTOM_DATA_LIMITS.bytes) {
      ctx.addIssue({
        code: 'custom',
        message: `must be at most ${CUSTOM_DATA_LIMITS.bytes} bytes as JSON (it is ${bytes})`,
      });
    }
  })
  .meta({
    description: `Answers of the form, free-form but bounded: at most ${CUSTOM_DATA_LIMITS.keys} keys, values that are texts (up to ${CUSTOM_DATA_LIMITS.stringLength} characters, no control characters but tabs and line breaks), numbers, booleans, null, or one more level of arrays or objects of those (up to ${CUSTOM_DATA_LIMITS.entries} entries), ${CUSTOM_DATA_LIMITS.bytes} bytes as JSON in all.`,
    override: {
      maxProperties: CUSTOM_DATA_LIMITS.keys,
      propertyNames: customDataKeyRule,
    },
  });

export const customDataSchema = z.preprocess((input, ctx) => {
  const path = forbiddenKeyPath(input);
  if (path) ctx.addIssue({ code: 'custom', path, message: `keys must not be ${FORBIDDEN_KEY}`, input });
  return input;
}, customDataObject);

// --- Requests ------------------------------------------------------------------------------------

const email = z
  .email({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be an email address') })
  .max(320, 'must be at most 320 characters');

export const loginRequest = z
  .object({
    // Compared in lower case: emails are stored so.
    email: email.toLowerCase(),
    password: z
      .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
      .min(1, 'must not be empty')
      .max(1024, 'must be at most 1024 characters'),
  })
  .meta({ id: 'LoginRequest', example: { email: 'admin@example.org', password: 'correct horse battery staple' } });

export const applicationSubmission = z
  .object({
    applicant: z.object({
      name: singleLineText(200, { required: true }),
      email,
    }),
    custom_data: customDataSchema.default({}),
  })
  .meta({
    id: 'ApplicationSubmission',
    example: {
      applicant: { name: 'Ada Lovelace', email: 'ada@example.org' },
      custom_data: { discord_user_id: '80351110224678912' },
    },
  });

export const reviewDecision = z.enum(['approve', 'reject']);

export const reviewRequest = z
  .object({
    decision: reviewDecision,
    note: multiLineText(2000).nullish().meta({ description: 'Why; shown to reviewers, never to the applicant.' }),
  })
  .meta({ id: 'ReviewRequest', example: { decision: 'approve', note: 'Known member of the club.' } });

export const bulkReviewRequest = z
  .object({
    ids: z
      .array(z.string().max(100).regex(SINGLE_LINE, NO_CONTROL_MESSAGE).refine(wellFormed, WELL_FORMED_MESSAGE))
      .min(1)
      .max(MAX_BULK_REVIEW_IDS)
      .meta({
        description: `Application IDs, up to ${MAX_BULK_REVIEW_IDS}; unknown ones are refused one by one, not all at once.`,
      }),
    decision: reviewDecision,
    // Not trimmed: the note is part of the request's digest, which a repeated request must match.
    note: multiLineText(2000, { trim: false }).optional(),
  })
  .meta({ id: 'BulkReviewRequest' });

export const listApplicationsQuery = z.object({
  status: z.enum(applicationStatuses).optional(),
  formId: z.uuid().optional().meta({ description: 'Only the applications to this form.' }),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional().meta({ description: 'The `nextCursor` of the previous page.' }),
});

export const stuckAssignmentsQuery = z.object({
  olderThanSeconds: z.coerce
    .number()
    .int()
    .min(0)
    .max(30 * 86_400)
    .default(300)
    .meta({
      description: 'How long an assignment must have been pending to count as stuck (failed ones always count).',
    }),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const driftRepair = z.enum(driftRepairModes).meta({
  description:
    'What a reconciliation does with an approved member missing a granted role (or holding a role approval removes): `restore` puts it right, `report` only marks the application (a manual retry then puts it right).',
});

export const organizationSettingsPatch = z
  .object({
    requireDiscordSignIn: z.boolean().meta({ description: 'Applicants must sign in with Discord on the public form.' }),
    driftRepair,
  })
  .partial()
  .strict()
  .meta({ id: 'OrganizationSettingsPatch' });

/** A Discord role's ID (a snowflake, as text). */
const roleId = z.string().regex(DISCORD_ID_PATTERN, 'must be a Discord role ID: 17 to 20 digits, as a string');
const noRepeats = (ids: string[]) => new Set(ids).size === ids.length;

export const roleSettingsRequest = z
  .object({
    addRoleIds: z
      .array(roleId)
      .min(1, 'must hold at least 1 role: approval adds at least one')
      .max(MAX_ADD_ROLES, `must hold at most ${MAX_ADD_ROLES} roles`)
      .refine(noRepeats, 'must not name a role twice')
      .meta({
        description: `The roles approval adds, 1 to ${MAX_ADD_ROLES}: each below the bot's highest role, not managed by an integration, and carrying no permissions.`,
        uniqueItems: true,
      }),
    removeRoleIds: z
      .array(roleId)
      .max(MAX_REMOVE_ROLES, `must hold at most ${MAX_REMOVE_ROLES} roles`)
      .refine(noRepeats, 'must not name a role twice')
      .meta({
        description: `The roles approval removes (a "Pending" or "Unverified" role, say), 0 to ${MAX_REMOVE_ROLES}: each below the bot's highest role and not managed by an integration; none of them also in \`addRoleIds\` (else 422 \`role_not_manageable\`).`,
        uniqueItems: true,
      }),
  })
  .strict()
  .meta({
    id: 'RoleSettingsRequest',
    example: { addRoleIds: ['1300000000000000001'], removeRoleIds: ['1300000000000000002'] },
  });

export const reconciliationRunsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

export const auditLogQuery = z.object({
  applicationId: z.uuid().optional().meta({ description: 'Only entries about this application.' }),
  userId: z.uuid().optional().meta({ description: 'Only what this user did.' }),
  action: z
    .string()
    .regex(
      /^[a-z][a-z_]*(\.[a-z_]+)*\.?$/,
      'must be an action such as application.approved, or a prefix such as application.',
    )
    .max(100)
    .optional()
    .meta({ description: 'An action (`application.approved`), or a prefix ending with a dot (`application.`).' }),
  after: z.iso.datetime({ offset: true }).optional().meta({ description: 'Entries at or after this time.' }),
  before: z.iso.datetime({ offset: true }).optional().meta({ description: 'Entries before this time.' }),
  cursor: z
    .string()
    .regex(/^[1-9][0-9]{0,17}$/, 'is not a cursor this API gave out')
    .optional()
    .meta({ description: 'The `nextCursor` of the previous page.' }),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const applicantAuthorizeQuery = z.object({
  application: z.uuid().optional().meta({ description: 'An application to re-authorize.' }),
});

/** Idempotency keys are short enough that the key scoped by the user (`<user id>:<key>`) stays whole. */
export const idempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,100}$/, 'must be 1 to 100 visible ASCII characters (a UUID, for example)');

/** A public organization's address on the form. */
export const organizationSlug = z
  .string()
  .max(63)
  .regex(SLUG_PATTERN)
  .meta({ description: 'Lowercase letters and digits in groups joined by single hyphens.', example: 'chess-club' });

// --- Responses -----------------------------------------------------------------------------------

const timestamp = z.iso.datetime({ offset: true });
const nullableTimestamp = timestamp.nullable();

/** The error answer of one status of one route: `code` is one of `codes`. */
export const errorResponseWith = (codes: readonly ErrorCode[]) =>
  z.object({
    error: z.object({
      code: z.enum(codes as [ErrorCode, ...ErrorCode[]]),
      message: z
        .string()
        .meta({ description: 'For people: what went wrong and what to do; names the field at fault.' }),
    }),
  });

export const errorResponse = errorResponseWith(Object.keys(errorCodes) as ErrorCode[]).meta({
  id: 'Error',
  example: { error: { code: 'invalid_request', message: 'applicant.email: must be an email address' } },
});

/** Answers to a form, by question id (checked against the form's version, src/domain/form.ts). */
const formAnswers = z
  .record(
    z.string(),
    // The lengths and the choices are the form version's to check (src/domain/form.ts): here, the types.
    z.union([z.string(), z.array(z.string()), z.boolean()], {
      error: 'must be a text, a list of texts, or true or false',
    }),
  )
  .meta({ description: 'By question id: a text, a list of options (multiple choice) or a boolean (checkbox).' });

export const discordUser = z
  .object({
    id: z.string().regex(DISCORD_ID_PATTERN),
    username: z.string().nullable(),
    globalName: z.string().nullable(),
    avatarUrl: z.url().nullable(),
    accountCreatedAt: timestamp.meta({ description: 'From the ID: throwaway accounts are young.' }),
  })
  .meta({ id: 'DiscordUser' });

export const application = z
  .object({
    id: z.uuid(),
    organizationId: z.uuid(),
    applicant: z.object({ name: z.string(), email: z.string() }),
    custom_data: z.record(z.string(), z.unknown()),
    formId: z.uuid().meta({ description: 'The form the applicant answered (`GET /api/forms/{formId}`).' }),
    formVersion: z.number().int().min(1).meta({
      description: 'The version of the form answered: `GET /api/forms/{formId}?version=` labels the answers.',
    }),
    answers: formAnswers,
    discordUser: discordUser
      .extend({ verified: z.boolean().meta({ description: 'The applicant signed in with this account.' }) })
      .nullable()
      .meta({ description: 'The account the role goes to; null without a usable ID.' }),
    status: z.enum(applicationStatuses),
    notes: z.string().nullable(),
    reviewedBy: z.uuid().nullable(),
    reviewedAt: nullableTimestamp,
    roleAssignment: z.object({
      status: z.enum(roleAssignmentStatuses),
      error: z.string().nullable(),
      errorType: z
        .string()
        .nullable()
        .meta({ description: 'Why the last role change failed, as a stable snake_case type (`unknown_member`, ...).' }),
      attemptedAt: nullableTimestamp,
      retryCount: z.number().int().min(0),
    }),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({
    id: 'Application',
    example: {
      id: '6f1c6a4e-3c7b-4e6b-9a63-1b2b7d3c9f10',
      organizationId: '0b6e7c2a-5d4f-4e1b-8a9c-3d2e1f0a9b8c',
      applicant: { name: 'Ada Lovelace', email: 'ada@example.org' },
      custom_data: {},
      formId: '9d3b2a1c-7e6f-4a5b-8c9d-0e1f2a3b4c5d',
      formVersion: 1,
      answers: { why_join: 'I play every Tuesday.', rules: true },
      discordUser: {
        id: '80351110224678912',
        username: 'ada',
        globalName: 'Ada',
        avatarUrl: null,
        accountCreatedAt: '2015-08-16T19:36:40.320Z',
        verified: true,
      },
      status: 'approved_role_failed',
      notes: 'Known member of the club.',
      reviewedBy: '2c9d8e7f-6a5b-4c3d-9e2f-1a0b9c8d7e6f',
      reviewedAt: '2026-11-27T10:15:00.000Z',
      roleAssignment: {
        status: 'failed',
        error: "The bot's role is below the role it should give: move it higher in Server Settings → Roles.",
        errorType: 'missing_permissions',
        attemptedAt: '2026-11-27T10:15:01.000Z',
        retryCount: 1,
      },
      createdAt: '2026-11-26T18:20:28.123Z',
      updatedAt: '2026-11-27T10:15:01.000Z',
    },
  });

export const applicationReadiness = z
  .object({
    verdict: z.enum(['ready', 'warning', 'blocked']).meta({
      description:
        '`ready`: approving gives the roles now; `warning`: the grant may wait (screening, not seen in the server); `blocked`: the grant would fail or wait until something is fixed.',
    }),
    reason: z.string().meta({ description: 'One sentence for the reviewer.' }),
  })
  .meta({ id: 'ApplicationReadiness' });

/** An application as the reviewers' lists show it: with whether approving it would give its roles now. */
export const listedApplication = application
  .extend({
    readiness: applicationReadiness.nullable().meta({
      description:
        'Pending applications only (null otherwise): whether approving would give the roles now, from the last health check and the members the last reconciliation saw (no call to Discord).',
    }),
  })
  .meta({
    id: 'ListedApplication',
    example: {
      id: '6f1c6a4e-3c7b-4e6b-9a63-1b2b7d3c9f10',
      organizationId: '0b6e7c2a-5d4f-4e1b-8a9c-3d2e1f0a9b8c',
      applicant: { name: 'Ada Lovelace', email: 'ada@example.org' },
      custom_data: {},
      formId: '9d3b2a1c-7e6f-4a5b-8c9d-0e1f2a3b4c5d',
      formVersion: 1,
      answers: { why_join: 'I play every Tuesday.', rules: true },
      discordUser: {
        id: '80351110224678912',
        username: 'ada',
        globalName: 'Ada',
        avatarUrl: null,
        accountCreatedAt: '2015-08-16T19:36:40.320Z',
        verified: true,
      },
      status: 'Pending',
      notes: null,
      reviewedBy: null,
      reviewedAt: null,
      roleAssignment: { status: 'not_applicable', error: null, errorType: null, attemptedAt: null, retryCount: 0 },
      createdAt: '2026-11-26T18:20:28.123Z',
      updatedAt: '2026-11-26T18:20:28.123Z',
      readiness: { verdict: 'ready', reason: 'In the server: the roles are given at once.' },
    },
  });

export const applicationCreated = z
  .object({
    id: z.uuid(),
    status: z.enum(applicationStatuses),
    statusUrl: z.url().meta({
      description: "The applicant's private status link (signed, unguessable): keep it to follow the application.",
    }),
  })
  .meta({ id: 'ApplicationCreated' });

// --- Forms ---------------------------------------------------------------------------------------

export const formRequest = formInputSchema.meta({
  id: 'FormRequest',
  description:
    "A form's whole definition. Saving a form that applications answered creates a new version (they keep theirs); otherwise its current version changes in place. Question ids must be unique in the form (else 422 `duplicate_question_id`).",
  example: {
    title: 'Membership application',
    slug: 'apply',
    description: 'Tell us about yourself.',
    cooldownDays: 30,
    shareNotes: false,
    questions: [
      { id: 'why_join', label: 'Why do you want to join?', type: 'long_text', required: true, maxLength: 2000 },
      { id: 'level', label: 'Your level', type: 'single_choice', required: false, options: ['Beginner', 'Club'] },
      { id: 'rules', label: 'I have read the rules', type: 'checkbox', required: true },
    ],
  },
});

const formQuestions = z.array(questionSchema).meta({ description: 'In the order the form shows them.' });

export const form = z
  .object({
    id: z.uuid(),
    organizationId: z.uuid(),
    slug: z.string(),
    title: z.string(),
    description: z.string(),
    cooldownDays: z.number().int().min(0).max(FORM_LIMITS.cooldownDays),
    shareNotes: z.boolean(),
    isDefault: z.boolean().meta({ description: 'The form of `/apply/<organization>`: it cannot be removed.' }),
    version: z.number().int().min(1).meta({ description: 'The version these questions are of.' }),
    questions: formQuestions,
    applicationCount: z.number().int().min(0).meta({ description: 'Applications to this form, all versions.' }),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({
    id: 'Form',
    example: {
      id: '9d3b2a1c-7e6f-4a5b-8c9d-0e1f2a3b4c5d',
      organizationId: '0b6e7c2a-5d4f-4e1b-8a9c-3d2e1f0a9b8c',
      slug: 'apply',
      title: 'Membership application',
      description: 'Tell us about yourself.',
      cooldownDays: 30,
      shareNotes: false,
      isDefault: true,
      version: 2,
      questions: [
        { id: 'why_join', label: 'Why do you want to join?', type: 'long_text', required: true, maxLength: 2000 },
        { id: 'rules', label: 'I have read the rules', type: 'checkbox', required: true },
      ],
      applicationCount: 12,
      createdAt: '2026-11-26T18:20:28.123Z',
      updatedAt: '2026-11-27T10:15:00.000Z',
    },
  });

export const formList = z.object({ items: z.array(form).meta({ description: 'The default form first.' }) }).meta({
  id: 'FormList',
});

export const formIdParam = z.object({ formId: z.uuid().meta({ description: 'The form.' }) });

export const formQuery = z.object({
  version: z.coerce
    .number()
    .int()
    .min(1)
    .max(2_147_483_647)
    .optional()
    .meta({ description: 'An older version (the one an application answered); the current one when left out.' }),
});

export const exportQuery = z.object({
  formId: z.uuid().meta({ description: 'The form whose applications to export.' }),
});

export const publicFormPath = z.object({
  slug: organizationSlug,
  formSlug: z
    .string()
    .max(64)
    .regex(/^[a-z0-9-]+$/)
    .meta({
      description: "The form's slug (`GET /api/forms`); the default form's is `apply` unless an admin changed it.",
    }),
});

export const publicForm = z
  .object({
    organization: z.object({ slug: z.string(), name: z.string(), requireDiscordSignIn: z.boolean() }),
    form: z.object({
      slug: z.string(),
      title: z.string(),
      description: z.string(),
      version: z.number().int().min(1),
      cooldownDays: z.number().int().min(0),
      questions: formQuestions,
    }),
  })
  .meta({ id: 'PublicForm' });

export const formSubmission = z
  .object({
    applicant: applicationSubmission.shape.applicant,
    answers: formAnswers.default({}).meta({
      description:
        "One answer per question id of the form's current version: a text (short and long text, single choice, URL), a list of options (multiple choice) or a boolean (checkbox). Optional questions may be left out; unknown ids are refused (400 naming `answers.<id>`).",
    }),
    custom_data: customDataSchema.default({}),
  })
  .meta({
    id: 'FormSubmission',
    example: {
      applicant: { name: 'Ada Lovelace', email: 'ada@example.org' },
      answers: { why_join: 'I play every Tuesday.', rules: true },
    },
  });

export const cooldownError = z
  .object({
    error: z.object({
      code: z.literal('cooldown'),
      message: z.string().meta({ description: 'Says the date the applicant may apply again.' }),
      retryAfter: timestamp.meta({ description: 'When the applicant may apply again.' }),
    }),
  })
  .meta({ id: 'CooldownError' });

export const applicationPage = z
  .object({
    items: z.array(listedApplication),
    nextCursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last.' }),
  })
  .meta({ id: 'ApplicationPage' });

export const bulkReviewAccepted = z.object({ bulkId: z.uuid() }).meta({ id: 'BulkReviewAccepted' });

export const bulkReviewProgress = z
  .object({
    bulkId: z.uuid(),
    decision: reviewDecision,
    total: z.number().int(),
    recorded: z.number().int().meta({ description: 'Reviews recorded so far.' }),
    assigned: z
      .number()
      .int()
      .meta({ description: 'Recorded and settled: role given (approve) or none needed (reject).' }),
    failed: z.number().int(),
    refusedCount: z.number().int(),
    refused: z
      .array(z.object({ id: z.string(), error: z.object({ code: z.string(), message: z.string() }) }))
      .meta({ description: 'The first 100 refused IDs, each with why.' }),
    done: z.boolean(),
    createdAt: timestamp,
  })
  .meta({ id: 'BulkReviewProgress' });

export const stuckAssignments = z.object({ items: z.array(application) }).meta({ id: 'StuckAssignments' });

const organizationSummary = z.object({ id: z.uuid(), slug: z.string(), name: z.string() }).nullable();

export const signedIn = z
  .object({
    user: z.object({ id: z.uuid(), email: z.string(), role: z.enum(['admin', 'reviewer']) }),
    organization: organizationSummary,
  })
  .meta({ id: 'SignedIn' });

const applicantStatusWord = z.enum(applicantStatuses).meta({
  description:
    '`received` (not decided yet), `approved` (the role may still be on its way: see `roleGranted`), `rejected` (an approval withdrawn included).',
});

export const applicantSignIn = z
  .object({
    organization: z.object({ name: z.string(), requireDiscordSignIn: z.boolean() }),
    discordUser: discordUser
      .nullable()
      .meta({ description: 'Who is signed in with Discord on this browser, if anyone.' }),
    applications: z
      .array(
        z.object({
          id: z.uuid(),
          formTitle: z.string().nullable(),
          submittedAt: timestamp,
          status: applicantStatusWord,
          statusUrl: z.string().meta({ description: 'The private status link of this application.' }),
        }),
      )
      .meta({
        description:
          'The applications of the Discord account signed in here, at this organization (newest first, at most 20); empty when nobody is signed in.',
      }),
  })
  .meta({ id: 'ApplicantSignIn' });

export const applicantStatusQuery = z.object({
  token: z.string().optional().meta({ description: 'The token of the status link.' }),
});

export const applicantStatus = z
  .object({
    status: applicantStatusWord,
    roleGranted: z.boolean().meta({
      description: 'The Discord role reached the account. False on an approval: the role is on its way.',
    }),
    serverUrl: z
      .string()
      .nullable()
      .meta({ description: 'The Discord server (`https://discord.com/channels/<id>`) once the role is granted.' }),
    note: z
      .string()
      .nullable()
      .meta({ description: "The reviewer's note, only when the application's form shares notes with applicants." }),
    organization: z.object({ name: z.string(), slug: z.string() }),
    form: z.object({ title: z.string() }).nullable(),
    submittedAt: timestamp,
    decidedAt: timestamp.nullable(),
  })
  .meta({
    id: 'ApplicantStatus',
    example: {
      status: 'approved',
      roleGranted: true,
      serverUrl: 'https://discord.com/channels/123456789012345678',
      note: null,
      organization: { name: 'Chess Club', slug: 'chess-club' },
      form: { title: 'Membership application' },
      submittedAt: '2026-11-20T10:00:00.000Z',
      decidedAt: '2026-11-21T09:30:00.000Z',
    },
  });

const connectionState = z.enum(['disconnected', 'connecting', 'connected', 'error']);

const healthFinding = z.object({
  kind: z.enum(healthFindingKinds),
  message: z.string().meta({ description: 'What is wrong and how to fix it, for the admin.' }),
});

export const botHealth = z
  .object({
    checkedAt: timestamp,
    findings: z.array(healthFinding).meta({ description: 'Empty: no problem found.' }),
    repaired: z.number().int().min(0).meta({ description: 'Drift this check put right.' }),
    runId: z.uuid().meta({ description: 'The reconciliation run (`GET /api/reconciliation-runs`).' }),
  })
  .nullable()
  .meta({
    id: 'BotHealth',
    description:
      "The last finished health check of the bot's access (scheduled, Check now, or a re-apply); null: none yet.",
    example: {
      checkedAt: '2026-11-27T10:00:00.000Z',
      findings: [
        {
          kind: 'role_above_bot',
          message:
            'Grants are paused: the role "Member" is now at or above the bot\'s highest role, so the bot cannot give or take it. Drag the bot\'s role above "Member" in Server Settings → Roles, then press Check now in Settings.',
        },
      ],
      repaired: 0,
      runId: '5b0a1c9e-8d7f-4e6a-9b3c-2d1e0f9a8b7c',
    },
  });

const roleRef = z.object({
  id: z.string(),
  name: z.string().nullable().meta({ description: 'As last seen in Discord; null when not known.' }),
});

export const discordConnection = z
  .object({
    state: connectionState,
    guild: z.object({ id: z.string(), name: z.string().nullable() }).nullable(),
    role: z.object({ id: z.string(), name: z.string().nullable() }).nullable(),
    addRoles: z.array(roleRef).meta({
      description:
        'The roles approval adds (connected or paused; empty otherwise). Changing them applies to new grants.',
    }),
    removeRoles: z.array(roleRef).meta({ description: 'The roles approval removes (connected or paused).' }),
    error: z.string().nullable(),
    canCheckAgain: z.boolean().meta({ description: 'Grants are paused and "Check now" can resume them.' }),
    health: botHealth,
    updatedAt: nullableTimestamp,
  })
  .meta({
    id: 'DiscordConnection',
    example: {
      state: 'connected',
      guild: { id: '1300000000000000000', name: 'Chess Club' },
      role: { id: '1300000000000000001', name: 'Approved' },
      addRoles: [
        { id: '1300000000000000001', name: 'Approved' },
        { id: '1300000000000000003', name: 'Member' },
      ],
      removeRoles: [{ id: '1300000000000000002', name: 'Unverified' }],
      error: null,
      canCheckAgain: false,
      health: {
        checkedAt: '2026-11-27T10:00:00.000Z',
        findings: [],
        repaired: 2,
        runId: '5b0a1c9e-8d7f-4e6a-9b3c-2d1e0f9a8b7c',
      },
      updatedAt: '2026-11-26T18:20:28.123Z',
    },
  });

export const connectionCheck = z
  .object({
    state: connectionState,
    error: z.string().nullable(),
    outcome: z.enum(['connected', 'already_connected', 'failed', 'in_progress', 'still_running']),
    message: z.string().nullable(),
    health: botHealth,
  })
  .meta({ id: 'ConnectionCheck' });

export const guildRoles = z
  .object({
    items: z
      .array(
        z.object({
          id: z.string(),
          name: z.string(),
          position: z.number().int(),
          manageable: z.boolean().meta({ description: 'Approval can add this role.' }),
          reason: z.string().nullable().meta({ description: 'Why approval cannot add it (null when it can).' }),
          removable: z.boolean().meta({ description: 'Approval can remove this role.' }),
          removeReason: z
            .string()
            .nullable()
            .meta({ description: 'Why approval cannot remove it (null when it can).' }),
        }),
      )
      .meta({ description: "The server's roles, highest first, as Discord shows them now." }),
    addRoleIds: z.array(z.string()).meta({ description: 'The roles approval adds now.' }),
    removeRoleIds: z.array(z.string()).meta({ description: 'The roles approval removes now.' }),
  })
  .meta({
    id: 'GuildRoles',
    example: {
      items: [
        {
          id: '1300000000000000009',
          name: 'Role Bot',
          position: 4,
          manageable: false,
          reason: 'Managed by an integration or a bot: Discord lets no one else give or take it.',
          removable: false,
          removeReason: 'Managed by an integration or a bot: Discord lets no one else give or take it.',
        },
        {
          id: '1300000000000000004',
          name: 'Moderator',
          position: 3,
          manageable: false,
          reason: 'Carries permissions (Kick Members): a role given to every approved applicant must carry none.',
          removable: true,
          removeReason: null,
        },
        {
          id: '1300000000000000001',
          name: 'Approved',
          position: 2,
          manageable: true,
          reason: null,
          removable: true,
          removeReason: null,
        },
        {
          id: '1300000000000000000',
          name: '@everyone',
          position: 0,
          manageable: false,
          reason: '@everyone belongs to every member: it cannot be added or removed.',
          removable: false,
          removeReason: '@everyone belongs to every member: it cannot be added or removed.',
        },
      ],
      addRoleIds: ['1300000000000000001'],
      removeRoleIds: [],
    },
  });

export const roleReapplyAccepted = z
  .object({
    workflowId: z.string().meta({ description: 'The reconciliation workflow that re-applies the roles.' }),
    runId: z.string(),
  })
  .meta({
    id: 'RoleReapplyAccepted',
    example: {
      workflowId: 'reconcile:0b6e7c2a-5d4f-4e1b-8a9c-3d2e1f0a9b8c:reapply',
      runId: '0d3c5a7e-1b2f-4c6d-8e9a-0b1c2d3e4f5a',
    },
  });

export const reconciliationRun = z
  .object({
    id: z.uuid(),
    trigger: z.enum(['schedule', 'check', 'reapply']).meta({
      description: '`schedule`: the periodic run; `check`: "Check now"; `reapply`: "Re-apply to approved members".',
    }),
    workflowId: z.string(),
    runId: z.string().meta({ description: "The workflow's first run (the Temporal Web UI's link)." }),
    startedAt: timestamp,
    finishedAt: nullableTimestamp.meta({ description: 'Null while it runs.' }),
    memberSource: z.enum(['list', 'one_by_one']).nullable().meta({
      description:
        'How members were compared: `list` (the whole member list, Server Members intent), `one_by_one`, or null (not compared).',
    }),
    membersChecked: z.number().int().min(0),
    requests: z.number().int().min(0).meta({ description: 'Requests made to Discord.' }),
    driftFound: z.number().int().min(0),
    repaired: z.number().int().min(0),
    reported: z.number().int().min(0).meta({ description: 'Drift only reported (drift repair set to `report`).' }),
    membersLeft: z.number().int().min(0).meta({ description: 'Approved members found gone from the server.' }),
    failed: z.number().int().min(0).meta({ description: 'Repairs that failed.' }),
    findings: z.array(healthFinding).meta({ description: "What the health check found wrong with the bot's access." }),
    error: z.string().nullable().meta({ description: 'Why the run could not finish, if it could not.' }),
  })
  .meta({
    id: 'ReconciliationRun',
    example: {
      id: '5b0a1c9e-8d7f-4e6a-9b3c-2d1e0f9a8b7c',
      trigger: 'schedule',
      workflowId: 'reconcile:0b6e7c2a-5d4f-4e1b-8a9c-3d2e1f0a9b8c',
      runId: '0d3c5a7e-1b2f-4c6d-8e9a-0b1c2d3e4f5a',
      startedAt: '2026-11-27T10:00:00.000Z',
      finishedAt: '2026-11-27T10:00:04.000Z',
      memberSource: 'list',
      membersChecked: 412,
      requests: 3,
      driftFound: 2,
      repaired: 2,
      reported: 0,
      membersLeft: 0,
      failed: 0,
      findings: [],
      error: null,
    },
  });

export const reconciliationRuns = z
  .object({ items: z.array(reconciliationRun).meta({ description: 'Newest first.' }) })
  .meta({ id: 'ReconciliationRuns' });

const auditActor = z
  .object({ id: z.uuid(), email: z.string() })
  .nullable()
  .meta({ description: 'The user who did it; null for the applicant, the system or a user since deleted.' });

export const timelineEntry = z
  .object({
    at: timestamp,
    action: z.string().meta({ description: 'The audit-log action, e.g. `application.approved`.' }),
    actor: auditActor,
    detail: z.string().meta({ description: 'What happened, in a sentence for people.' }),
  })
  .meta({ id: 'TimelineEntry' });

export const applicationTimeline = z
  .object({ items: z.array(timelineEntry).meta({ description: 'Oldest first.' }) })
  .meta({
    id: 'ApplicationTimeline',
    example: {
      items: [
        {
          at: '2026-11-27T10:00:00.000Z',
          action: 'application.submitted',
          actor: null,
          detail: 'Application submitted.',
        },
        {
          at: '2026-11-27T10:05:00.000Z',
          action: 'application.approved',
          actor: { id: '6f1d2c3b-4a5e-4f60-8172-93a4b5c6d7e8', email: 'reviewer@example.org' },
          detail: 'Approved with the note “Welcome!”.',
        },
        {
          at: '2026-11-27T10:05:01.000Z',
          action: 'application.role_grant_succeeded',
          actor: null,
          detail: 'Discord role granted.',
        },
      ],
    },
  });

export const auditLogEntry = z
  .object({
    id: z.string().meta({ description: 'Increasing with time.' }),
    at: timestamp,
    action: z.string(),
    actor: auditActor,
    subjectType: z.string().nullable(),
    subjectId: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).meta({ description: 'What the action recorded (never secrets).' }),
  })
  .meta({ id: 'AuditLogEntry' });

export const auditLogPage = z
  .object({
    items: z.array(auditLogEntry).meta({ description: 'Newest first.' }),
    nextCursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last.' }),
  })
  .meta({ id: 'AuditLogPage' });

export const disconnectAccepted = z.object({ state: connectionState }).meta({ id: 'DisconnectAccepted' });

export const organizationSettings = z
  .object({ requireDiscordSignIn: z.boolean(), driftRepair })
  .meta({ id: 'OrganizationSettings', example: { requireDiscordSignIn: true, driftRepair: 'restore' } });

export const uiConfig = z
  .object({
    temporalUiUrl: z.string().nullable().meta({ description: "The Temporal Web UI's address, if configured." }),
  })
  .meta({ id: 'UiConfig' });

export const liveness = z.object({ status: z.literal('ok') });

export const readiness = z.object({
  status: z.enum(['ready', 'degraded', 'unavailable']),
  problems: z.record(z.string(), z.string()).optional(),
});
