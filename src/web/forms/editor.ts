import { FORM_LIMITS, FORM_SLUG_PATTERN, QUESTION_ID_PATTERN, RESERVED_FORM_SLUGS } from '../../domain/form.js';
import type { Form, FormInput, Question, QuestionType } from '../types.js';

export { FORM_LIMITS, RESERVED_FORM_SLUGS };

export const QUESTION_TYPES: Array<{ value: QuestionType; label: string }> = [
  { value: 'short_text', label: 'Short text' },
  { value: 'long_text', label: 'Long text (paragraphs)' },
  { value: 'single_choice', label: 'Single choice' },
  { value: 'multiple_choice', label: 'Multiple choice' },
  { value: 'checkbox', label: 'Checkbox (e.g. "I accept the rules")' },
  { value: 'url', label: 'Web address (URL)' },
];

export const QUESTION_ID = QUESTION_ID_PATTERN;
export const FORM_SLUG = FORM_SLUG_PATTERN;
export const MAX_QUESTIONS = FORM_LIMITS.questions;

export const isChoice = (type: QuestionType) => type === 'single_choice' || type === 'multiple_choice';
/** The types with a length limit of their own (a link's is fixed). */
export const hasLength = (type: QuestionType): type is 'short_text' | 'long_text' =>
  type === 'short_text' || type === 'long_text';

/** What is wrong with a form's slug, or null. */
export function slugError(slug: string): string | null {
  if (!FORM_SLUG.test(slug)) return 'Use lowercase letters, digits and hyphens (like staff-application).';
  if ((RESERVED_FORM_SLUGS as readonly string[]).includes(slug)) {
    return `"${slug}" is used by the app's own pages: choose another.`;
  }
  return null;
}

/** What is wrong with a text question's maximum length (empty: the default), or null. */
export function maxLengthError(type: QuestionType, value: string): string | null {
  if (!hasLength(type) || !value.trim()) return null;
  const max = FORM_LIMITS[type].max;
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || Number(value) > max) {
    return `A whole number of characters from 1 to ${max}.`;
  }
  return null;
}

/** One question as the editor holds it (`qid`: react-hook-form keeps its own `id` on list items). */
export interface EditorQuestion {
  qid: string;
  /** The key was typed by hand (or belongs to a saved question): the label no longer changes it. */
  idEdited: boolean;
  label: string;
  type: QuestionType;
  required: boolean;
  /** One option per line. */
  optionsText: string;
  maxLength: string;
  help: string;
}

export interface EditorValues {
  title: string;
  slug: string;
  slugEdited: boolean;
  description: string;
  cooldownDays: string;
  shareNotes: boolean;
  questions: EditorQuestion[];
}

/** A question's key from its label: "Why do you want to join?" → `why_do_you_want_to_join`. */
export function idFromLabel(label: string, taken: Iterable<string> = []): string {
  let base = label
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (!/^[a-z]/.test(base)) base = `q_${base}`.replace(/_+$/, '');
  base = base.slice(0, 40).replace(/_+$/, '') || 'q';
  const used = new Set(taken);
  if (!used.has(base)) return base;
  for (let n = 2; ; n++) {
    const suffix = `_${n}`;
    const candidate = `${base.slice(0, 40 - suffix.length)}${suffix}`;
    if (!used.has(candidate)) return candidate;
  }
}

/** A form's address from its title: "Staff application" → `staff-application`. */
export function slugFromTitle(title: string): string {
  return title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/, '');
}

export const blankQuestion = (taken: string[]): EditorQuestion => ({
  qid: idFromLabel('question', taken),
  idEdited: false,
  label: '',
  type: 'short_text',
  required: true,
  optionsText: '',
  maxLength: '',
  help: '',
});

export const NEW_FORM: EditorValues = {
  title: '',
  slug: '',
  slugEdited: false,
  description: '',
  cooldownDays: '0',
  shareNotes: false,
  questions: [],
};

/** A saved form in the editor: its question keys stay as they are (answers are kept under them). */
export function toEditor(form: Form): EditorValues {
  return {
    title: form.title,
    slug: form.slug,
    slugEdited: true,
    description: form.description ?? '',
    cooldownDays: String(form.cooldownDays ?? 0),
    shareNotes: form.shareNotes,
    questions: form.questions.map((q) => ({
      qid: q.id,
      idEdited: true,
      label: q.label,
      type: q.type,
      required: q.required,
      optionsText: (q.options ?? []).join('\n'),
      maxLength: q.maxLength ? String(q.maxLength) : '',
      help: q.help ?? '',
    })),
  };
}

export const optionsOf = (text: string) =>
  text
    .split('\n')
    .map((o) => o.trim())
    .filter(Boolean);

/** What the API is sent. */
export function fromEditor(values: EditorValues): FormInput {
  return {
    title: values.title.trim(),
    slug: values.slug.trim(),
    description: values.description.trim(),
    cooldownDays: Number(values.cooldownDays || 0),
    shareNotes: values.shareNotes,
    questions: values.questions.map((q): Question => {
      const out: Question = { id: q.qid.trim(), label: q.label.trim(), type: q.type, required: q.required };
      if (isChoice(q.type)) out.options = optionsOf(q.optionsText);
      if (hasLength(q.type) && q.maxLength.trim()) out.maxLength = Number(q.maxLength);
      if (q.help.trim()) out.help = q.help.trim();
      return out;
    }),
  };
}

/**
 * The editor field a 400 names (`questions.1.label: ...`, `slug: ...`), as a react-hook-form path,
 * with the reason; null when the message names none of them.
 */
export function editorFieldOf(message: string): { path: string; message: string } | null {
  const match =
    /^(title|slug|description|cooldownDays|shareNotes|questions(?:\.(\d+)(?:\.(id|label|type|required|options|maxLength|help))?)?)(?:\.\d+)?\s*:\s*(.+)$/s.exec(
      message.trim(),
    );
  if (!match) return null;
  const [, whole, index, key, why] = match;
  if (index === undefined) return { path: whole === 'questions' ? 'root.questions' : whole!, message: why!.trim() };
  const editorKey = key === 'id' ? 'qid' : key === 'options' ? 'optionsText' : (key ?? 'label');
  return { path: `questions.${index}.${editorKey}`, message: why!.trim() };
}
