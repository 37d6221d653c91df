import { useId } from 'react';
import type { UseFormRegister } from 'react-hook-form';
import type { Question } from '../types.js';
import { answerError, maxLengthOf, type AnswerValue } from './answers.js';

/** The public form's values, as react-hook-form keeps them. */
export interface ApplyValues {
  applicant: { name: string; email: string; discordUserId: string };
  answers: Record<string, AnswerValue>;
}

/** " (required)" after a question's label: read out too, not only a colour or a star. */
export function RequiredMark({ required }: { required: boolean }) {
  return required ? <span className="required-mark"> (required)</span> : null;
}

/**
 * One question of a form, accessibly: a label for every control (a fieldset and legend for a
 * group of choices), the question's help and its error tied to the controls with
 * `aria-describedby`, `aria-invalid` while the answer is refused, and `required` marked in words.
 */
export function QuestionField({
  question: q,
  register,
  error,
}: {
  question: Question;
  register: UseFormRegister<ApplyValues>;
  /** The refusal of the current answer (the form's own check or the server's), or undefined. */
  error?: string;
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const max = maxLengthOf(q);
  const hints = [q.help, q.type === 'long_text' && max ? `Up to ${max} characters.` : null].filter(Boolean);
  const describedBy = [hints.length ? hintId : null, error ? errorId : null].filter(Boolean).join(' ') || undefined;
  const field = register(`answers.${q.id}`, { validate: (value: AnswerValue) => answerError(q, value) ?? true });
  const a11y = { 'aria-describedby': describedBy, 'aria-invalid': error ? true : undefined };
  const hint = hints.length ? (
    <div className="hint" id={hintId}>
      {hints.join(' ')}
    </div>
  ) : null;
  const errorText = error ? (
    <div className="field-error" id={errorId}>
      {error}
    </div>
  ) : null;

  if (q.type === 'single_choice' || q.type === 'multiple_choice') {
    const single = q.type === 'single_choice';
    return (
      <fieldset
        className="field choices question"
        data-question={q.id}
        role={single ? 'radiogroup' : 'group'}
        aria-required={q.required || undefined}
        {...a11y}
      >
        <legend>
          {q.label}
          <RequiredMark required={q.required} />
        </legend>
        {hint}
        {(q.options ?? []).map((option, i) => (
          <label className="checkbox" key={`${i}:${option}`}>
            <input type={single ? 'radio' : 'checkbox'} value={option} {...field} {...a11y} />
            <span>{option}</span>
          </label>
        ))}
        {errorText}
      </fieldset>
    );
  }

  if (q.type === 'checkbox') {
    return (
      <div className="field question" data-question={q.id}>
        <label className="checkbox">
          <input type="checkbox" required={q.required} {...field} {...a11y} />
          <span>
            {q.label}
            <RequiredMark required={q.required} />
          </span>
        </label>
        {hint}
        {errorText}
      </div>
    );
  }

  return (
    <div className="field question" data-question={q.id}>
      <label htmlFor={id}>
        {q.label}
        <RequiredMark required={q.required} />
      </label>
      {q.type === 'long_text' ? (
        <textarea id={id} rows={5} required={q.required} {...field} {...a11y} />
      ) : (
        <input
          id={id}
          type={q.type === 'url' ? 'url' : 'text'}
          inputMode={q.type === 'url' ? 'url' : undefined}
          autoComplete={q.type === 'url' ? 'url' : 'off'}
          required={q.required}
          {...field}
          {...a11y}
        />
      )}
      {hint}
      {errorText}
    </div>
  );
}
