/**
 * Application forms: what an organization asks its applicants, and the one rule that checks the
 * answers. A form's definition (its questions) is versioned; an application keeps the version it
 * answered, and `answersSchemaOf` builds the schema of the answers from that version's definition,
 * so the server, the tests and the web UI read the same rules.
 *
 * Pure: zod only (no Node, no database), so the web UI can import it too.
 */
// zod is plain JavaScript with no I/O: as pure as src/domain itself (the web UI bundles it anyway).
// eslint-disable-next-line @typescript-eslint/no-restricted-imports
import { z } from 'zod';

// --- Text rules (the same as the API's singleLineText/multiLineText) ------------------------------

/* eslint-disable no-control-regex -- refusing control characters is the point of these patterns */
/** One line of text: no control characters at all (C0, DEL, C1). */
const SINGLE_LINE = /^[^\u0000-\u001f\u007f-\u009f]*$/;
/** Text that may span lines: tabs and line breaks, but no other control character. */
const MULTI_LINE = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$/;
/* eslint-enable no-control-regex */
/** JavaScript's white space, as `trim` removes it, spelled out (other regex engines disagree about `\s`). */
const NOT_ONLY_SPACE = /[^\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]/;

const NO_CONTROL = 'must not contain control characters (such as NUL)';
const NO_CONTROL_MULTILINE = 'must not contain control characters other than tabs and line breaks';
const WELL_FORMED = 'must be valid Unicode text';

const line = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .regex(SINGLE_LINE, NO_CONTROL)
    .refine((s) => s.isWellFormed(), WELL_FORMED);
const requiredLine = (max: number) => line(max).regex(NOT_ONLY_SPACE, 'must not be empty').trim();
const text = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .regex(MULTI_LINE, NO_CONTROL_MULTILINE)
    .refine((s) => s.isWellFormed(), WELL_FORMED)
    .trim();

// --- The definition --------------------------------------------------------------------------------

export const QUESTION_TYPES = [
  'short_text',
  'long_text',
  'single_choice',
  'multiple_choice',
  'checkbox',
  'url',
] as const;
export type QuestionType = (typeof QUESTION_TYPES)[number];

export const FORM_LIMITS = {
  questions: 50,
  options: 50,
  optionLength: 200,
  labelLength: 200,
  helpLength: 1000,
  titleLength: 200,
  descriptionLength: 4000,
  cooldownDays: 365,
  urlLength: 2048,
  /** maxLength of a text question: its default and the most it may be. */
  short_text: { default: 200, max: 1000 },
  long_text: { default: 2000, max: 10000 },
} as const;

/** A question's key in the answers: `why_join`. Stable across versions; unique in a form. */
export const QUESTION_ID_PATTERN = /^[a-z][a-z0-9_]{0,39}$/;
/** A form's address under its organization's: `/apply/<org>/<form>`. */
export const FORM_SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
/**
 * Slugs a form may not take: words the web UI's and the API's paths use next to a form's slug
 * (`/apply/<org>/<form>`, `/api/public/organizations/<org>/forms/<form>/applications`), and names
 * that would read as pages rather than forms.
 */
export const RESERVED_FORM_SLUGS = [
  'api',
  'admin',
  'applicant',
  'applications',
  'discord',
  'edit',
  'forms',
  'new',
  'status',
] as const;
/** The slug of the form every organization starts with. */
export const DEFAULT_FORM_SLUG = 'apply';
export const DEFAULT_FORM_TITLE = 'Membership application';

const questionId = z
  .string()
  .regex(QUESTION_ID_PATTERN, 'must be a key like why_join: a lowercase letter, then lowercase letters, digits or _')
  // Answers are a JSON object: a key every object inherits (`constructor`, `valueof`...) would read as answered.
  .refine((id) => !(id in Object.prototype), { message: 'is a reserved name' })
  .meta({ description: 'The key of the answer (`why_join`): stable across versions, unique in the form.' });

const questionBase = {
  id: questionId,
  label: requiredLine(FORM_LIMITS.labelLength).meta({ description: 'The question, as the applicant reads it.' }),
  required: z.boolean().default(false),
  help: text(FORM_LIMITS.helpLength).optional().meta({ description: 'A hint shown under the question.' }),
};

const option = requiredLine(FORM_LIMITS.optionLength);
const options = z
  .array(option)
  .min(1, 'must hold at least 1 option')
  .max(FORM_LIMITS.options, `must hold at most ${FORM_LIMITS.options} options`)
  .superRefine((values, ctx) => {
    const seen = new Set<string>();
    values.forEach((value, i) => {
      if (seen.has(value)) ctx.addIssue({ code: 'custom', path: [i], message: `repeats the option "${value}"` });
      seen.add(value);
    });
  })
  .meta({ description: `The choices, 1 to ${FORM_LIMITS.options}, each once.`, uniqueItems: true });

const maxLengthOf = (type: 'short_text' | 'long_text') =>
  z
    .number()
    .int()
    .min(1)
    .max(FORM_LIMITS[type].max, `must be at most ${FORM_LIMITS[type].max}`)
    .default(FORM_LIMITS[type].default)
    .meta({ description: `The longest answer, in characters (default ${FORM_LIMITS[type].default}).` });

export const questionSchema = z
  .discriminatedUnion('type', [
    z.strictObject({ ...questionBase, type: z.literal('short_text'), maxLength: maxLengthOf('short_text') }),
    z.strictObject({ ...questionBase, type: z.literal('long_text'), maxLength: maxLengthOf('long_text') }),
    z.strictObject({ ...questionBase, type: z.literal('single_choice'), options }),
    z.strictObject({ ...questionBase, type: z.literal('multiple_choice'), options }),
    z.strictObject({ ...questionBase, type: z.literal('checkbox') }),
    z.strictObject({ ...questionBase, type: z.literal('url') }),
  ])
  .meta({ id: 'FormQuestion' });
export type Question = z.output<typeof questionSchema>;
export type QuestionInput = z.input<typeof questionSchema>;

/** The ids of questions that repeat an earlier one: `[index, id]`. */
export function repeatedQuestionIds(questions: ReadonlyArray<{ id: string }>): Array<[number, string]> {
  const seen = new Set<string>();
  const repeated: Array<[number, string]> = [];
  questions.forEach((q, i) => {
    if (seen.has(q.id)) repeated.push([i, q.id]);
    seen.add(q.id);
  });
  return repeated;
}

export const questionsSchema = z
  .array(questionSchema)
  .max(FORM_LIMITS.questions, `must hold at most ${FORM_LIMITS.questions} questions`)
  .meta({ description: `Up to ${FORM_LIMITS.questions} questions, in the order the form shows them.` });

export const formSlugSchema = z
  .string()
  .regex(
    FORM_SLUG_PATTERN,
    'must be 1 to 64 lowercase letters, digits and hyphens, starting and ending with a letter or digit',
  )
  .refine((slug) => !(RESERVED_FORM_SLUGS as readonly string[]).includes(slug), {
    message: `must not be one of ${RESERVED_FORM_SLUGS.join(', ')} (used by the app's own pages)`,
  })
  .meta({
    description: "The form's address: `/apply/<organization>/<form>`.",
    example: 'staff',
    not: { enum: [...RESERVED_FORM_SLUGS] },
  });

/**
 * What an admin writes (`POST /api/forms`, `PUT /api/forms/{formId}`): the whole definition, every
 * field given (a PUT that left one out would not mean "unchanged"). Two questions with one id
 * cannot be told apart by a schema: `repeatedQuestionIds` finds them.
 */
export const formInputSchema = z.strictObject({
  title: requiredLine(FORM_LIMITS.titleLength),
  slug: formSlugSchema,
  description: text(FORM_LIMITS.descriptionLength),
  cooldownDays: z
    .number()
    .int()
    .min(0)
    .max(FORM_LIMITS.cooldownDays)
    .meta({ description: 'Days a rejected applicant waits before applying to this form again (0: no wait).' }),
  shareNotes: z.boolean().meta({ description: "The reviewer's note is shown to the applicant on the status page." }),
  questions: questionsSchema,
});
export type FormInput = z.output<typeof formInputSchema>;

/** What one version of a form holds (stored as `form_versions.definition`). */
export const formDefinitionSchema = z.object({
  title: z.string(),
  description: z.string(),
  questions: z.array(questionSchema),
});
export type FormDefinition = z.output<typeof formDefinitionSchema>;

export const definitionOf = (input: Pick<FormInput, 'title' | 'description' | 'questions'>): FormDefinition => ({
  title: input.title,
  description: input.description,
  questions: input.questions,
});

// --- The answers -----------------------------------------------------------------------------------

/** One answer as the API carries it. */
export type AnswerValue = string | string[] | boolean;
export type Answers = Record<string, AnswerValue>;

function isHttpUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
}

function answerSchemaOf(q: Question): z.ZodType<AnswerValue | undefined> {
  const required = q.required;
  let schema: z.ZodType<AnswerValue>;
  switch (q.type) {
    case 'short_text':
    case 'long_text': {
      const base = z
        .string({ error: 'must be a text' })
        .regex(
          q.type === 'short_text' ? SINGLE_LINE : MULTI_LINE,
          q.type === 'short_text' ? NO_CONTROL : NO_CONTROL_MULTILINE,
        )
        .refine((s) => s.isWellFormed(), WELL_FORMED)
        .trim()
        .max(q.maxLength, `must be at most ${q.maxLength} characters`);
      schema = required ? base.min(1, 'is required') : base;
      break;
    }
    case 'single_choice':
      schema = z.string({ error: 'must be one of the options, as a text' }).refine((v) => q.options.includes(v), {
        message: `must be one of the options: ${q.options.map((o) => JSON.stringify(o)).join(', ')}`,
      });
      break;
    case 'multiple_choice': {
      const list = z
        .array(
          z.string({ error: 'must be a list of options' }).refine((v) => q.options.includes(v), {
            message: 'is not one of the options',
          }),
          { error: 'must be a list of options' },
        )
        .refine((values) => new Set(values).size === values.length, { message: 'must not name an option twice' });
      schema = required ? list.min(1, 'is required: choose at least one option') : list;
      break;
    }
    case 'checkbox':
      schema = required
        ? z.literal(true, { error: 'must be checked (true): it is required' })
        : z.boolean({ error: 'must be true or false' });
      break;
    case 'url':
      schema = z
        .string({ error: 'must be a link, as a text' })
        .trim()
        .max(FORM_LIMITS.urlLength, `must be at most ${FORM_LIMITS.urlLength} characters`)
        .refine((v) => (v === '' ? !required : isHttpUrl(v)), {
          message: required
            ? 'must be a link starting with https:// or http://'
            : 'must be a link starting with https:// or http:// (or empty)',
        });
      break;
  }
  return required ? schema : schema.optional();
}

/**
 * The schema of the answers to one version of a form: an object with one key per question (the
 * question's id), unknown keys refused, optional questions may be left out.
 */
export function answersSchemaOf(definition: Pick<FormDefinition, 'questions'>) {
  const shape: Record<string, z.ZodType<AnswerValue | undefined>> = {};
  for (const q of definition.questions) shape[q.id] = answerSchemaOf(q);
  return z.strictObject(shape, { error: 'must be an object: one answer per question id' });
}

/** A path segment as is, or quoted when it holds anything unusual (a key with a NUL). */
const segment = (key: PropertyKey) =>
  typeof key === 'string' && !/^[\w$-]+$/.test(key) ? JSON.stringify(key) : String(key);

/**
 * The answers to one version of a form, checked and normalised (texts trimmed), or the reasons they
 * are refused, each naming the question: `answers.why_join: must be at most 2000 characters`.
 */
export function checkAnswers(
  definition: Pick<FormDefinition, 'questions'>,
  answers: unknown,
): { ok: true; answers: Answers } | { ok: false; message: string } {
  const result = answersSchemaOf(definition).safeParse(answers === undefined ? {} : answers, { reportInput: true });
  if (result.success) {
    // Optional questions left out stay out.
    const clean = Object.fromEntries(Object.entries(result.data).filter(([, v]) => v !== undefined)) as Answers;
    return { ok: true, answers: clean };
  }
  const lines = result.error.issues.slice(0, 5).map((issue) => {
    const where = ['answers', ...issue.path.map(segment)].join('.');
    if (issue.code === 'unrecognized_keys') {
      // At most five named: a body of thousands of made-up keys gets a short answer.
      const named = issue.keys.slice(0, 5).map((k) => `${where}.${segment(k)}: is not a question of this form`);
      if (issue.keys.length > 5) named.push(`and ${issue.keys.length - 5} more keys that are not questions`);
      return named.join('; ');
    }
    if (issue.input === undefined && issue.path.length === 1) return `${where}: is required`;
    return `${where}: ${issue.message}`;
  });
  return { ok: false, message: lines.join('; ') };
}

/** An answer as a cell or a line of text: choices joined with "; ", a checkbox as yes/no. */
export function answerText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (Array.isArray(value)) return value.map(String).join('; ');
  return String(value);
}
