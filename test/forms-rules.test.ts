import {
  answersSchemaOf,
  answerText,
  checkAnswers,
  FORM_LIMITS,
  formInputSchema,
  repeatedQuestionIds,
  type FormDefinition,
  type QuestionInput,
} from '../src/domain/form.js';
import { neutralised } from '../src/http/routes/forms.js';

/** The pure rules of forms: what a definition may hold, and how answers are checked against one. */

const wholeForm = { title: 'T', slug: 't', description: '', cooldownDays: 0, shareNotes: false, questions: [] };

const definitionOf = (questions: QuestionInput[]): FormDefinition => {
  const parsed = formInputSchema.parse({ ...wholeForm, questions });
  return { title: parsed.title, description: parsed.description, questions: parsed.questions };
};

const definition = definitionOf([
  { id: 'nick', label: 'Nickname', type: 'short_text', required: true },
  { id: 'why_join', label: 'Why do you want to join?', type: 'long_text', required: true, maxLength: 20 },
  { id: 'level', label: 'Level', type: 'single_choice', required: true, options: ['Beginner', 'Club'] },
  { id: 'days', label: 'Days', type: 'multiple_choice', required: false, options: ['Mon', 'Tue', 'Wed'] },
  { id: 'rules', label: 'I accept the rules', type: 'checkbox', required: true },
  { id: 'news', label: 'Newsletter', type: 'checkbox', required: false },
  { id: 'site', label: 'Website', type: 'url', required: false },
]);

const valid = {
  nick: '  Ada ',
  why_join: 'Chess\non Tuesdays',
  level: 'Club',
  days: ['Mon', 'Wed'],
  rules: true,
};

describe('a form definition', () => {
  const parse = (input: unknown) => formInputSchema.safeParse(input);
  const question = (q: Record<string, unknown>) => parse({ ...wholeForm, questions: [q] });

  test('every field of the form is given; a question is optional unless told, maxLength 200 and 2000 by default', () => {
    const parsed = formInputSchema.parse({
      ...wholeForm,
      title: ' Staff ',
      slug: 'staff',
      questions: [
        { id: 'a', label: 'A', type: 'short_text' },
        { id: 'b', label: 'B', type: 'long_text' },
      ],
    });
    expect(parsed).toMatchObject({ title: 'Staff', description: '', cooldownDays: 0, shareNotes: false });
    expect(parsed.questions).toEqual([
      { id: 'a', label: 'A', type: 'short_text', required: false, maxLength: 200 },
      { id: 'b', label: 'B', type: 'long_text', required: false, maxLength: 2000 },
    ]);
    for (const field of ['title', 'slug', 'description', 'cooldownDays', 'shareNotes', 'questions']) {
      const { [field as keyof typeof wholeForm]: _left, ...rest } = wholeForm;
      expect([field, formInputSchema.safeParse(rest).success]).toEqual([field, false]);
    }
  });

  test.each([
    ['an id with a capital', { id: 'Why', label: 'x', type: 'checkbox' }, 'questions.0.id'],
    ['an id starting with a digit', { id: '1x', label: 'x', type: 'checkbox' }, 'questions.0.id'],
    ['an id of 41 characters', { id: `a${'b'.repeat(40)}`, label: 'x', type: 'checkbox' }, 'questions.0.id'],
    ['an empty label', { id: 'a', label: '   ', type: 'checkbox' }, 'questions.0.label'],
    ['a label with a NUL', { id: 'a', label: 'a\u0000', type: 'checkbox' }, 'questions.0.label'],
    ['an unknown type', { id: 'a', label: 'x', type: 'date' }, 'questions.0.type'],
    ['a choice without options', { id: 'a', label: 'x', type: 'single_choice' }, 'questions.0.options'],
    ['no options at all', { id: 'a', label: 'x', type: 'multiple_choice', options: [] }, 'questions.0.options'],
    [
      '51 options',
      { id: 'a', label: 'x', type: 'multiple_choice', options: Array.from({ length: 51 }, (_, i) => `o${i}`) },
      'questions.0.options',
    ],
    [
      'a repeated option',
      { id: 'a', label: 'x', type: 'single_choice', options: ['A', 'B', 'A'] },
      'questions.0.options.2',
    ],
    ['an empty option', { id: 'a', label: 'x', type: 'single_choice', options: ['A', ' '] }, 'questions.0.options.1'],
    ['options on a text question', { id: 'a', label: 'x', type: 'short_text', options: ['A'] }, 'questions.0'],
    ['options on a checkbox', { id: 'a', label: 'x', type: 'checkbox', options: ['A'] }, 'questions.0'],
    [
      'maxLength on a choice',
      { id: 'a', label: 'x', type: 'single_choice', options: ['A'], maxLength: 5 },
      'questions.0',
    ],
    ['a short text of 1001', { id: 'a', label: 'x', type: 'short_text', maxLength: 1001 }, 'questions.0.maxLength'],
    ['a long text of 10001', { id: 'a', label: 'x', type: 'long_text', maxLength: 10001 }, 'questions.0.maxLength'],
    ['a maxLength of 0', { id: 'a', label: 'x', type: 'long_text', maxLength: 0 }, 'questions.0.maxLength'],
    ['an unknown field', { id: 'a', label: 'x', type: 'checkbox', colour: 'red' }, 'questions.0'],
  ])('refuses %s', (_label, q, path) => {
    const result = question(q);
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => i.path.join('.'))).toContain(path);
  });

  test('accepts the largest: 50 questions, 50 options, maxLength 1000 and 10000', () => {
    const questions = Array.from({ length: 50 }, (_, i) => ({
      id: `q${i}`,
      label: `Question ${i}`,
      type: 'multiple_choice',
      options: Array.from({ length: 50 }, (_, j) => `Option ${j}`),
    }));
    expect(parse({ ...wholeForm, questions }).success).toBe(true);
    expect(parse({ ...wholeForm, questions: [...questions, { id: 'x', label: 'x', type: 'url' }] }).success).toBe(
      false,
    );
    expect(question({ id: 'a', label: 'x', type: 'short_text', maxLength: 1000 }).success).toBe(true);
    expect(question({ id: 'a', label: 'x', type: 'long_text', maxLength: 10000 }).success).toBe(true);
  });

  test('two questions with one id are found (the API refuses them)', () => {
    expect(repeatedQuestionIds([{ id: 'a' }, { id: 'b' }, { id: 'a' }])).toEqual([[2, 'a']]);
    expect(repeatedQuestionIds([{ id: 'a' }, { id: 'b' }])).toEqual([]);
  });

  test.each([
    ['apply', true],
    ['staff-2026', true],
    ['a', true],
    [`a${'b'.repeat(63)}`, true],
    [`a${'b'.repeat(64)}`, false],
    ['-staff', false],
    ['staff-', false],
    ['Staff', false],
    ['st aff', false],
    ['', false],
    ['new', false],
    ['status', false],
    ['forms', false],
    ['applications', false],
  ])('slug %j: %s', (slug, ok) => {
    expect(parse({ ...wholeForm, slug }).success).toBe(ok);
  });

  test.each([
    ['cooldown 366 days', { cooldownDays: 366 }],
    ['cooldown -1', { cooldownDays: -1 }],
    ['cooldown 1.5', { cooldownDays: 1.5 }],
    ['no title', { title: ' ' }],
    ['an unknown field', { isDefault: false }],
  ])('refuses %s', (_label, change) => {
    expect(parse({ ...wholeForm, ...change }).success).toBe(false);
  });
});

describe('answers', () => {
  const refused = (answers: unknown) => {
    const result = checkAnswers(definition, answers);
    if (result.ok) throw new Error(`accepted: ${JSON.stringify(answers)}`);
    return result.message;
  };

  test('valid answers are accepted, texts trimmed, optional questions left out', () => {
    expect(checkAnswers(definition, valid)).toEqual({
      ok: true,
      answers: { ...valid, nick: 'Ada', why_join: 'Chess\non Tuesdays' },
    });
    expect(checkAnswers(definition, { ...valid, news: false, site: 'https://example.org/me?x=1' }).ok).toBe(true);
    expect(checkAnswers(definition, { ...valid, days: [] }).ok).toBe(true);
    expect(checkAnswers(definition, { ...valid, site: '' }).ok).toBe(true);
  });

  test.each([
    ['a required text left out', { ...valid, nick: undefined }, /^answers\.nick: is required$/],
    ['a required text of spaces', { ...valid, nick: '   ' }, /^answers\.nick: is required$/],
    ['a number as a text', { ...valid, nick: 42 }, /^answers\.nick: must be a text$/],
    ['a line break in a short text', { ...valid, nick: 'a\nb' }, /^answers\.nick: must not contain control/],
    ['a NUL in a long text', { ...valid, why_join: 'a\u0000b' }, /^answers\.why_join: must not contain control/],
    ['half a surrogate pair', { ...valid, why_join: '\ud800' }, /^answers\.why_join: must be valid Unicode/],
    [
      'an over-long answer',
      { ...valid, why_join: 'x'.repeat(21) },
      /^answers\.why_join: must be at most 20 characters$/,
    ],
    ['a choice not offered', { ...valid, level: 'Master' }, /^answers\.level: must be one of the options/],
    ['a choice in another case', { ...valid, level: 'club' }, /^answers\.level: must be one of the options/],
    ['a list for a single choice', { ...valid, level: ['Club'] }, /^answers\.level: /],
    ['a text for a multiple choice', { ...valid, days: 'Mon' }, /^answers\.days: must be a list of options$/],
    ['an option twice', { ...valid, days: ['Mon', 'Mon'] }, /^answers\.days: must not name an option twice$/],
    ['an option not offered', { ...valid, days: ['Mon', 'Sun'] }, /^answers\.days\.1: is not one of the options$/],
    ['a required checkbox unchecked', { ...valid, rules: false }, /^answers\.rules: must be checked/],
    ['a required checkbox left out', { ...valid, rules: undefined }, /^answers\.rules: is required$/],
    ['"true" as a checkbox', { ...valid, news: 'true' }, /^answers\.news: must be true or false$/],
    ['a relative link', { ...valid, site: '/me' }, /^answers\.site: must be a link/],
    ['a javascript: link', { ...valid, site: 'javascript:alert(1)' }, /^answers\.site: must be a link/],
    ['an ftp link', { ...valid, site: 'ftp://example.org/' }, /^answers\.site: must be a link/],
    [
      'a link of 2049 characters',
      { ...valid, site: `https://example.org/${'a'.repeat(2029)}` },
      /^answers\.site: must be at most 2048 characters$/,
    ],
    ['an unknown question', { ...valid, extra: 'x' }, /^answers\.extra: is not a question of this form$/],
    ['a key with a NUL', { ...valid, 'a\u0000': 'x' }, /^answers\."a\\u0000": is not a question of this form$/],
    ['a list as the answers', ['x'], /^answers: must be an object/],
    ['null as the answers', null, /^answers: must be an object/],
  ])('refuses %s, naming the question', (_label, answers, message) => {
    expect(refused(answers)).toMatch(message);
  });

  test('a link of exactly 2048 characters is accepted', () => {
    const site = `https://example.org/${'a'.repeat(2028)}`;
    expect(site).toHaveLength(FORM_LIMITS.urlLength);
    expect(checkAnswers(definition, { ...valid, site }).ok).toBe(true);
  });

  test('the answers to a form without questions are an empty object', () => {
    const empty = definitionOf([]);
    expect(checkAnswers(empty, undefined)).toEqual({ ok: true, answers: {} });
    expect(checkAnswers(empty, {})).toEqual({ ok: true, answers: {} });
    expect(checkAnswers(empty, { x: 1 })).toEqual({ ok: false, message: 'answers.x: is not a question of this form' });
  });

  test('the schema is built from the version asked: a question of another version is unknown', () => {
    const v1 = definitionOf([{ id: 'a', label: 'A', type: 'short_text', required: true }]);
    const v2 = definitionOf([{ id: 'b', label: 'B', type: 'short_text', required: true }]);
    expect(answersSchemaOf(v1).safeParse({ a: 'x' }).success).toBe(true);
    expect(answersSchemaOf(v2).safeParse({ a: 'x' }).success).toBe(false);
  });

  test('as text: choices joined with "; ", checkboxes yes/no, nothing as empty', () => {
    expect(answerText(['Mon', 'Wed'])).toBe('Mon; Wed');
    expect(answerText(true)).toBe('yes');
    expect(answerText(false)).toBe('no');
    expect(answerText(undefined)).toBe('');
    expect(answerText('x')).toBe('x');
  });
});

describe('names every object has, and many unknown keys', () => {
  test('a question may not be keyed `constructor` (or any other name every object inherits)', () => {
    for (const id of ['constructor', 'valueof', 'tostring']) {
      const result = formInputSchema.safeParse({
        ...wholeForm,
        questions: [{ id, label: 'X', type: 'short_text', required: false }],
      });
      // `valueof`/`tostring` are not inherited (case matters): only `constructor` is refused.
      expect(result.success).toBe(id !== 'constructor');
      if (!result.success) expect(result.error.issues[0]!.message).toBe('is a reserved name');
    }
  });

  test('thousands of made-up keys get a short answer naming the first five', () => {
    const answers = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, 'x']));
    const result = checkAnswers(definition, { ...answers, nick: 'a', why_join: 'b', level: 'Club', rules: true });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message.length).toBeLessThan(500);
    expect(result.message).toContain('answers.k0: is not a question of this form');
    expect(result.message).toContain('and 4995 more keys that are not questions');
  });
});

describe('CSV cells a spreadsheet would run', () => {
  test.each([
    ["=cmd|' /C calc'!A0", true],
    ['+1', true],
    ['-1+2', true],
    ['@SUM(A1)', true],
    ['\t=1', true],
    ['\r=1', true],
    ['\n=1', true],
    ['  =HYPERLINK("http://x")', true],
    ['\u00a0=1', true],
    ['＝1', true],
    ['Ada', false],
    ['a=b', false],
    ['', false],
  ])('%j neutralised: %s', (cell, neutralise) => {
    expect(neutralised(cell)).toBe(neutralise ? `'${cell}` : cell);
  });
});
