import { useEffect, useId, useState } from 'react';
import { useFieldArray, useForm, type FieldPath, type UseFormReturn } from 'react-hook-form';
import { Link, useLocation, useNavigate, useParams } from 'react-router';
import { ApiError, errorMessage } from '../api.js';
import { LoadFailed, Notice, PageHeading, Spinner } from '../components/ui.js';
import { createForm, getForm, updateForm } from '../endpoints.js';
import {
  blankQuestion,
  editorFieldOf,
  FORM_LIMITS,
  fromEditor,
  hasLength,
  idFromLabel,
  isChoice,
  MAX_QUESTIONS,
  maxLengthError,
  NEW_FORM,
  optionsOf,
  QUESTION_ID,
  QUESTION_TYPES,
  slugError,
  slugFromTitle,
  toEditor,
  type EditorValues,
} from '../forms/editor.js';
import { useResource } from '../hooks.js';
import { useSession } from '../session.js';
import type { Form } from '../types.js';

/** `/forms/new` and `/forms/:formId`: an admin writes the form; a reviewer reads it. */
export function FormEditorPage() {
  const { formId } = useParams();
  const form = useResource(() => (formId ? getForm(formId) : Promise.resolve(null)), formId ?? 'new');
  const location = useLocation();
  const navigate = useNavigate();
  const [notice, setNotice] = useState<string | null>(null);
  // A new form was created and its address opened: say so once, then drop the news from the history entry.
  const createdVersion = (location.state as { savedVersion?: number } | null)?.savedVersion;
  useEffect(() => {
    if (!createdVersion) return;
    setNotice(`Saved. This is version ${createdVersion}.`);
    void navigate(location.pathname, { replace: true, state: null });
  }, [createdVersion, navigate, location.pathname]);
  if (formId && !form.data) {
    return (
      <>
        <PageHeading>Form</PageHeading>
        {form.error ? (
          <LoadFailed what="The form" error={form.error} retry={form.reload} />
        ) : (
          <p>
            <Spinner label="Loading the form" /> Loading…
          </p>
        )}
      </>
    );
  }
  // A new key once saved: the editor starts again from what the server kept.
  return (
    <FormEditor
      key={form.data ? `${form.data.id}@${form.data.version}@${form.data.updatedAt}` : 'new'}
      saved={form.data}
      notice={notice}
      onSaving={() => setNotice(null)}
      onSaved={(f) => {
        if (f.id === form.data?.id) {
          // The same address: the editor starts again from the version the server kept.
          form.set(f);
          setNotice(`Saved. This is version ${f.version}.`);
        } else {
          void navigate(`/forms/${encodeURIComponent(f.id)}`, { state: { savedVersion: f.version } });
        }
      }}
    />
  );
}

function Err({ id, message }: { id: string; message?: string }) {
  return message ? (
    <div className="field-error" id={id}>
      {message}
    </div>
  ) : null;
}

/** Label, control and error of one field, tied together. */
function a11y(id: string, message: string | undefined, hintId?: string) {
  return {
    id,
    'aria-invalid': message ? true : undefined,
    'aria-describedby': [hintId, message ? `${id}-error` : null].filter(Boolean).join(' ') || undefined,
  };
}

function FormEditor({
  saved,
  notice,
  onSaving,
  onSaved,
}: {
  saved: Form | null;
  notice: string | null;
  onSaving: () => void;
  onSaved: (form: Form) => void;
}) {
  const session = useSession();
  const isAdmin = session.status === 'signed-in' && session.me.user.role === 'admin';
  const methods = useForm<EditorValues>({
    defaultValues: saved ? toEditor(saved) : NEW_FORM,
    mode: 'onTouched',
  });
  const {
    register,
    control,
    handleSubmit,
    setValue,
    getValues,
    setError,
    formState: { errors, isSubmitting, isDirty },
  } = methods;
  const questions = useFieldArray({ control, name: 'questions' });
  const [serverError, setServerError] = useState<string | null>(null);
  const id = useId();

  const onSubmit = async (values: EditorValues) => {
    setServerError(null);
    onSaving();
    try {
      const input = fromEditor(values);
      const result = saved ? await updateForm(saved.id, input) : await createForm(input);
      onSaved(result);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 400 || err.status === 409 || err.status === 422)) {
        const named = editorFieldOf(err.message);
        if (named) {
          setError(
            named.path as FieldPath<EditorValues>,
            { type: 'server', message: named.message },
            { shouldFocus: true },
          );
          if (named.path !== 'root.questions') return;
        }
        if (err.code.includes('slug')) {
          setError('slug', { type: 'server', message: err.message }, { shouldFocus: true });
          return;
        }
      }
      setServerError(errorMessage(err));
    }
  };

  const title = saved ? (isAdmin ? `Edit “${saved.title}”` : saved.title) : 'New form';
  const used = (saved?.applicationCount ?? 0) > 0;
  const takenIds = (except: number) =>
    getValues('questions')
      .filter((_, i) => i !== except)
      .map((q) => q.qid);

  return (
    <>
      <p className="breadcrumbs">
        <Link to="/forms">← Forms</Link>
      </p>
      <PageHeading>{title}</PageHeading>
      {saved ? (
        <p className="version-info" data-testid="form-version">
          Version {saved.version}.{' '}
          {used
            ? `${saved.applicationCount} application${saved.applicationCount === 1 ? '' : 's'} answered this form: saving creates version ${saved.version + 1}, and those applications keep the version they answered.`
            : 'No application answered it yet: saving changes this version.'}
        </p>
      ) : null}
      {notice ? <Notice kind="success">{notice}</Notice> : null}
      {serverError ? <Notice kind="error">{serverError}</Notice> : null}
      {!isAdmin ? <Notice kind="info">Only an admin can change forms.</Notice> : null}
      <form className="form-editor" onSubmit={(e) => void handleSubmit(onSubmit)(e)} noValidate>
        <fieldset disabled={!isAdmin || isSubmitting} className="plain">
          <div className="card">
            <div className="field">
              <label htmlFor={`${id}-title`}>Title</label>
              <input
                {...a11y(`${id}-title`, errors.title?.message)}
                {...register('title', {
                  validate: (v) => (v.trim() ? true : 'Please give the form a title.'),
                  onChange: (e: { target: { value: string } }) => {
                    if (!getValues('slugEdited')) setValue('slug', slugFromTitle(e.target.value));
                  },
                })}
              />
              <Err id={`${id}-title-error`} message={errors.title?.message} />
            </div>
            <div className="field">
              <label htmlFor={`${id}-slug`}>Address (slug)</label>
              <input
                {...a11y(`${id}-slug`, errors.slug?.message, `${id}-slug-hint`)}
                className="mono"
                autoComplete="off"
                spellCheck={false}
                {...register('slug', {
                  validate: (v) => slugError(v.trim()) ?? true,
                  onChange: () => setValue('slugEdited', true),
                })}
              />
              <div className="hint" id={`${id}-slug-hint`}>
                Applicants open it at /apply/{session.status === 'signed-in' ? session.me.organization?.slug : '…'}/
                <span className="mono">{methods.watch('slug') || 'slug'}</span>
                {saved?.isDefault ? ' (the default form is also at /apply/<organization>)' : ''}.
              </div>
              <Err id={`${id}-slug-error`} message={errors.slug?.message} />
            </div>
            <div className="field">
              <label htmlFor={`${id}-description`}>Description (optional)</label>
              <textarea
                {...a11y(`${id}-description`, errors.description?.message)}
                rows={3}
                {...register('description')}
              />
              <Err id={`${id}-description-error`} message={errors.description?.message} />
            </div>
            <div className="field narrow">
              <label htmlFor={`${id}-cooldown`}>Days before applying again</label>
              <input
                {...a11y(`${id}-cooldown`, errors.cooldownDays?.message, `${id}-cooldown-hint`)}
                type="number"
                inputMode="numeric"
                min={0}
                max={FORM_LIMITS.cooldownDays}
                {...register('cooldownDays', {
                  validate: (v) =>
                    /^\d+$/.test(String(v).trim()) && Number(v) <= FORM_LIMITS.cooldownDays
                      ? true
                      : `A whole number of days from 0 to ${FORM_LIMITS.cooldownDays}.`,
                })}
              />
              <div className="hint" id={`${id}-cooldown-hint`}>
                0: no wait. Otherwise an applicant who was rejected cannot apply to this form again for that many days.
              </div>
              <Err id={`${id}-cooldown-error`} message={errors.cooldownDays?.message} />
            </div>
            <label className="checkbox">
              <input type="checkbox" {...register('shareNotes')} />
              <span>Show the reviewer's note to the applicant on their status page</span>
            </label>
          </div>

          <h2>Questions</h2>
          <p className="muted small">
            Every form also asks the applicant's name and email (and the Discord account). Up to {MAX_QUESTIONS}{' '}
            questions.
          </p>
          {errors.questions?.root?.message ? (
            <div className="field-error" role="alert">
              {errors.questions.root.message}
            </div>
          ) : null}
          <ol className="question-list">
            {questions.fields.map((field, index) => (
              <li key={field.id}>
                <QuestionEditor
                  index={index}
                  count={questions.fields.length}
                  methods={methods}
                  takenIds={takenIds}
                  onMove={(to) => questions.move(index, to)}
                  onRemove={() => questions.remove(index)}
                />
              </li>
            ))}
          </ol>
          {questions.fields.length === 0 ? <p className="muted">No questions yet.</p> : null}
          <div className="toolbar">
            <button
              type="button"
              className="secondary"
              disabled={questions.fields.length >= MAX_QUESTIONS}
              onClick={() =>
                questions.append(blankQuestion(takenIds(-1)), {
                  shouldFocus: true,
                  focusName: `questions.${questions.fields.length}.label`,
                })
              }
            >
              Add a question
            </button>
          </div>
          {isAdmin ? (
            <div className="toolbar save-bar">
              <button type="submit" disabled={isSubmitting || (!!saved && !isDirty)}>
                {isSubmitting ? <Spinner /> : null}
                {saved ? (used ? `Save as version ${saved.version + 1}` : 'Save') : 'Create form'}
              </button>
              {isDirty ? <span className="muted small">Unsaved changes</span> : null}
            </div>
          ) : null}
        </fieldset>
      </form>
    </>
  );
}

function QuestionEditor({
  index,
  count,
  methods,
  takenIds,
  onMove,
  onRemove,
}: {
  index: number;
  count: number;
  methods: UseFormReturn<EditorValues>;
  takenIds: (except: number) => string[];
  onMove: (to: number) => void;
  onRemove: () => void;
}) {
  const { register, watch, setValue, getValues, formState } = methods;
  const id = useId();
  const type = watch(`questions.${index}.type`);
  const label = watch(`questions.${index}.label`);
  const errors = formState.errors.questions?.[index];
  const name = `Question ${index + 1}`;
  return (
    <fieldset className="card question-editor" data-testid="question-editor">
      <legend>{name}</legend>
      <div className="field">
        <label htmlFor={`${id}-label`}>Question text</label>
        <input
          {...a11y(`${id}-label`, errors?.label?.message)}
          {...register(`questions.${index}.label`, {
            validate: (v) => (v.trim() ? true : 'Please write the question.'),
            onChange: (e: { target: { value: string } }) => {
              if (!getValues(`questions.${index}.idEdited`)) {
                setValue(`questions.${index}.qid`, idFromLabel(e.target.value || 'question', takenIds(index)));
              }
            },
          })}
        />
        <Err id={`${id}-label-error`} message={errors?.label?.message} />
      </div>
      <div className="field-row">
        <div className="field">
          <label htmlFor={`${id}-type`}>Answer type</label>
          <select {...a11y(`${id}-type`, errors?.type?.message)} {...register(`questions.${index}.type`)}>
            {QUESTION_TYPES.map((t) => (
              <option key={t.value} value={t.value}>
                {t.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-qid`}>Answer key</label>
          <input
            {...a11y(`${id}-qid`, errors?.qid?.message, `${id}-qid-hint`)}
            className="mono"
            autoComplete="off"
            spellCheck={false}
            {...register(`questions.${index}.qid`, {
              validate: (v) => {
                if (!QUESTION_ID.test(v)) return 'Lowercase letters, digits and _, starting with a letter (up to 40).';
                if (takenIds(index).includes(v)) return 'Another question has this key.';
                return true;
              },
              onChange: () => setValue(`questions.${index}.idEdited`, true),
            })}
          />
          <div className="hint" id={`${id}-qid-hint`}>
            The answer's column in the export.
          </div>
          <Err id={`${id}-qid-error`} message={errors?.qid?.message} />
        </div>
      </div>
      <label className="checkbox">
        <input type="checkbox" {...register(`questions.${index}.required`)} />
        <span>Required</span>
      </label>
      {isChoice(type) ? (
        <div className="field">
          <label htmlFor={`${id}-options`}>Options (one per line)</label>
          <textarea
            {...a11y(`${id}-options`, errors?.optionsText?.message)}
            rows={4}
            {...register(`questions.${index}.optionsText`, {
              validate: (v, all) =>
                !isChoice(all.questions[index]?.type ?? 'short_text') || optionsOf(v).length >= 1
                  ? true
                  : 'Please give the options, one per line.',
            })}
          />
          <Err id={`${id}-options-error`} message={errors?.optionsText?.message} />
        </div>
      ) : null}
      {hasLength(type) ? (
        <div className="field narrow">
          <label htmlFor={`${id}-max`}>
            Maximum length (optional, {FORM_LIMITS[type as 'short_text' | 'long_text'].default} when empty)
          </label>
          <input
            {...a11y(`${id}-max`, errors?.maxLength?.message)}
            type="number"
            inputMode="numeric"
            min={1}
            {...register(`questions.${index}.maxLength`, {
              validate: (v, all) => maxLengthError(all.questions[index]?.type ?? 'checkbox', v) ?? true,
            })}
          />
          <Err id={`${id}-max-error`} message={errors?.maxLength?.message} />
        </div>
      ) : null}
      <div className="field">
        <label htmlFor={`${id}-help`}>Help text (optional)</label>
        <input {...a11y(`${id}-help`, errors?.help?.message)} {...register(`questions.${index}.help`)} />
        <Err id={`${id}-help-error`} message={errors?.help?.message} />
      </div>
      <div className="actions question-actions">
        <button
          type="button"
          className="secondary"
          disabled={index === 0}
          onClick={() => onMove(index - 1)}
          aria-label={`Move ${label?.trim() || name} up`}
        >
          ↑ Up
        </button>
        <button
          type="button"
          className="secondary"
          disabled={index === count - 1}
          onClick={() => onMove(index + 1)}
          aria-label={`Move ${label?.trim() || name} down`}
        >
          ↓ Down
        </button>
        <button
          type="button"
          className="secondary danger-text"
          onClick={onRemove}
          aria-label={`Remove ${label?.trim() || name}`}
        >
          Remove
        </button>
      </div>
    </fieldset>
  );
}
