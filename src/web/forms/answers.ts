import { FORM_LIMITS } from '../../domain/form.js';
import type { Answer, Question } from '../types.js';

/** A form value before it is sent: react-hook-form keeps an unanswered question as '', [], false or null. */
export type AnswerValue = Answer | null | undefined;

const URL_PATTERN = /^https?:\/\/[^\s/$.?#][^\s]*$/i;

/** The longest answer a question takes: its own limit, else the API's default (a link's is fixed). */
export function maxLengthOf(q: Question): number | null {
  if (q.type === 'url') return FORM_LIMITS.urlLength;
  if (q.type === 'short_text' || q.type === 'long_text') return q.maxLength ?? FORM_LIMITS[q.type].default;
  return null;
}

/** The value a question starts with in the form. */
export function emptyAnswer(q: Question): AnswerValue {
  if (q.type === 'multiple_choice') return [];
  if (q.type === 'checkbox') return false;
  if (q.type === 'single_choice') return null;
  return '';
}

/**
 * What is wrong with an answer, in words for the applicant, or null. The API checks the same again
 * (and its 400 names the question when it refuses).
 */
export function answerError(q: Question, value: AnswerValue): string | null {
  switch (q.type) {
    case 'checkbox':
      return q.required && value !== true ? 'Please tick this box to continue.' : null;
    case 'multiple_choice': {
      const chosen = Array.isArray(value) ? value : [];
      if (q.required && chosen.length === 0) return 'Please choose at least one option.';
      return null;
    }
    case 'single_choice':
      return q.required && (typeof value !== 'string' || value === '') ? 'Please choose an option.' : null;
    default: {
      const text = typeof value === 'string' ? value.trim() : '';
      if (!text) return q.required ? 'Please answer this question.' : null;
      const max = maxLengthOf(q);
      if (max !== null && text.length > max) return `Please keep it to ${max} characters (now ${text.length}).`;
      if (q.type === 'url' && !URL_PATTERN.test(text)) {
        return 'Please enter a full web address, starting with https://';
      }
      return null;
    }
  }
}

/** The answers to send: text trimmed, unanswered optional questions left out. */
export function answersToSend(questions: Question[], values: Record<string, AnswerValue>): Record<string, Answer> {
  const out: Record<string, Answer> = {};
  for (const q of questions) {
    const value = values[q.id];
    if (q.type === 'checkbox') {
      out[q.id] = value === true;
    } else if (q.type === 'multiple_choice') {
      const chosen = Array.isArray(value) ? value : typeof value === 'string' && value ? [value] : [];
      if (chosen.length > 0 || q.required) out[q.id] = chosen;
    } else if (typeof value === 'string' && value.trim()) {
      out[q.id] = value.trim();
    }
  }
  return out;
}

/** An answer as a reviewer reads it. */
export function formatAnswer(q: Pick<Question, 'type'> | undefined, value: unknown): string {
  if (value === undefined || value === null || value === '') return '—';
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  if (Array.isArray(value)) return value.length ? value.join(', ') : '—';
  if (q?.type === 'checkbox') return String(value);
  return String(value);
}

const FIELD_MESSAGE =
  /^((?:answers\.[a-z][a-z0-9_]*)|(?:applicant\.(?:name|email))|(?:custom_data\.discord_user_id))(?:\.\d+)?\s*:\s*(.+)$/s;

/**
 * The fields a 400's message names, with the reason for each: the API writes
 * `answers.why_join: is required; applicant.email: ...` (a part naming no field is left out).
 */
export function fieldsOfServerError(message: string): Array<{ field: string; message: string }> {
  return message
    .split(/;\s+(?=[a-z_]+\.)/)
    .map((part) => FIELD_MESSAGE.exec(part.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ field: m[1]!, message: m[2]!.trim() }));
}
