import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useForm, type FieldPath } from 'react-hook-form';
import { useNavigate, useParams, useSearchParams } from 'react-router';
import { ApiError, errorMessage } from '../api.js';
import { DiscordIdentity } from '../components/DiscordIdentity.js';
import { Notice, PageHeading, Spinner } from '../components/ui.js';
import { isValidDiscordId } from '../../domain/discord-id.js';
import { getApplicant, getPublicForm, submitApplication, type SubmittedApplication } from '../endpoints.js';
import { answersToSend, emptyAnswer, fieldsOfServerError } from '../forms/answers.js';
import { QuestionField, RequiredMark, type ApplyValues } from '../forms/QuestionField.js';
import { useResource } from '../hooks.js';
import { APPLICANT_SIGN_IN_MESSAGES } from '../messages.js';
import { formatDate } from '../status.js';
import type { ApplicantApplication, ApplicantView, PublicForm } from '../types.js';

/** The sentence for a sign-in's `?error=`: only ours, never the parameter's own text (anyone can write a link). */
function signInMessage(code: string | null): string {
  return code && Object.hasOwn(APPLICANT_SIGN_IN_MESSAGES, code)
    ? APPLICANT_SIGN_IN_MESSAGES[code]!
    : 'The Discord sign-in did not work. Please try again.';
}

const signInHref = (slug: string, applicationId?: string) =>
  `/api/public/organizations/${encodeURIComponent(slug)}/discord/authorize${
    applicationId ? `?application=${encodeURIComponent(applicationId)}` : ''
  }`;

/**
 * The Discord sign-in always comes back to `/apply/<org>`: the form it started from is remembered
 * in this tab, so the applicant lands on that form again.
 */
const returnKey = (orgSlug: string) => `applyReturn:${orgSlug}`;
function remember(orgSlug: string, formSlug: string | undefined) {
  try {
    if (formSlug) window.sessionStorage.setItem(returnKey(orgSlug), formSlug);
    else window.sessionStorage.removeItem(returnKey(orgSlug));
  } catch {
    // Storage unavailable: the applicant comes back to the default form.
  }
}
function takeRemembered(orgSlug: string): string | null {
  try {
    const formSlug = window.sessionStorage.getItem(returnKey(orgSlug));
    window.sessionStorage.removeItem(returnKey(orgSlug));
    return formSlug;
  } catch {
    return null;
  }
}

/** `/apply` without a form: a Discord sign-in came back with a state we could not read. */
export function ApplySignInProblem() {
  const [search] = useSearchParams();
  return (
    <main id="main" className="auth-page">
      <div className="card auth-card">
        <PageHeading>Discord sign-in</PageHeading>
        <Notice kind="error">{signInMessage(search.get('error') ?? 'invalid_state')}</Notice>
        <p>Go back to the application form you were filling in and sign in with Discord again.</p>
      </div>
    </main>
  );
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface ApplyErrors {
  name?: string;
  email?: string;
  discordUserId?: string;
}

/** The form's inline checks of the applicant's own fields; the API checks the same again. */
export function validateApplication(values: { name: string; email: string; discordUserId: string }): ApplyErrors {
  const errors: ApplyErrors = {};
  if (!values.name.trim()) errors.name = 'Please enter your name.';
  if (!EMAIL.test(values.email.trim())) errors.email = 'Please enter an email address, like ada@example.com.';
  const id = values.discordUserId.trim();
  if (id && !isValidDiscordId(id)) {
    errors.discordUserId = /^\d+$/.test(id)
      ? 'A Discord user ID has 17 to 20 digits. Please copy it again.'
      : 'A Discord user ID is a number (17 to 20 digits), not your username.';
  }
  return errors;
}

const checkApplicant = (key: keyof ApplyErrors) => (value: string, all: ApplyValues) =>
  validateApplication({ ...all.applicant, [key]: value })[key] ?? true;

const STATUS_WORDS: Record<ApplicantApplication['status'], string> = {
  received: 'Received',
  approved: 'Approved',
  rejected: 'Not accepted',
};

/** The signed-in applicant's earlier applications, each with its private status link. */
function YourApplications({ items }: { items: ApplicantApplication[] }) {
  return (
    <section aria-labelledby="your-applications" className="your-applications" data-testid="your-applications">
      <h2 id="your-applications">Your applications</h2>
      <ul>
        {items.map((a) => (
          <li key={a.id}>
            <strong>{a.formTitle ?? 'Application'}</strong>,{' '}
            <time dateTime={a.submittedAt}>{formatDate(a.submittedAt)}</time>: {STATUS_WORDS[a.status] ?? a.status} —{' '}
            <a href={a.statusUrl}>See its status</a>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** The link to the applicant's status page: same-origin links stay in the app. */
function StatusLink({ url }: { url: string }) {
  return (
    <a className="status-link" href={url} data-testid="status-link">
      {url}
    </a>
  );
}

/**
 * The public application form: `/apply/<organization slug>` (its default form) and
 * `/apply/<organization slug>/<form slug>`. The applicant signs in with Discord first where the
 * organization requires it, then answers the form's questions.
 */
export function ApplyPage() {
  const { orgSlug = '', formSlug } = useParams();
  const [search] = useSearchParams();
  const navigate = useNavigate();
  const applicant = useResource(() => getApplicant(orgSlug), orgSlug);
  const form = useResource(() => getPublicForm(orgSlug, formSlug), `${orgSlug}/${formSlug ?? ''}`);
  const reauthorize = search.get('reauthorize');
  const signInError = search.get('error');

  // Back from the Discord sign-in on the default form's address: go on to the form it started from.
  const verifiedBack = search.get('verified');
  useEffect(() => {
    if (!verifiedBack || formSlug) return;
    const remembered = takeRemembered(orgSlug);
    if (remembered) {
      void navigate(`/apply/${encodeURIComponent(orgSlug)}/${encodeURIComponent(remembered)}?verified=1`, {
        replace: true,
      });
    }
  }, [verifiedBack, formSlug, orgSlug, navigate]);

  if (reauthorize || search.get('reauthorized')) {
    return (
      <main id="main" className="auth-page">
        <div className="card auth-card">
          <PageHeading>Connect your Discord account again</PageHeading>
          {search.get('reauthorized') ? (
            <Notice kind="success">
              Thank you: your Discord account is connected again. You will be added to the server with your role in a
              moment.
            </Notice>
          ) : (
            <>
              {signInError ? <Notice kind="error">{signInMessage(signInError)}</Notice> : null}
              <p>
                Your application was approved, but your Discord sign-in expired before you could be added to the server.
                Sign in again with the account you applied with.
              </p>
              <a className="button-link discord" href={signInHref(orgSlug, reauthorize!)}>
                Sign in with Discord again
              </a>
            </>
          )}
        </div>
      </main>
    );
  }

  if (!form.data) {
    const missing = form.error !== null && /not found|no such|does not exist/i.test(form.error);
    return (
      <main id="main" className="auth-page">
        <div className="card auth-card">
          {form.error ? (
            <>
              <PageHeading>{missing ? 'Form not found' : 'Apply'}</PageHeading>
              <Notice
                kind="error"
                action={
                  missing ? null : (
                    <button type="button" onClick={() => void form.reload()}>
                      Try again
                    </button>
                  )
                }
              >
                {missing ? 'This application form does not exist. Please check the link you were given.' : form.error}
              </Notice>
            </>
          ) : (
            <p>
              <Spinner label="Loading the form" /> Loading…
            </p>
          )}
        </div>
      </main>
    );
  }

  return (
    <ApplyForm
      key={`${form.data.form.slug}:${form.data.form.version}`}
      orgSlug={orgSlug}
      formSlug={formSlug}
      publicForm={form.data}
      applicant={applicant.data}
      applicantError={applicant.error}
      signInError={signInError}
    />
  );
}

function ApplyForm({
  orgSlug,
  formSlug,
  publicForm,
  applicant,
  applicantError,
  signInError,
}: {
  orgSlug: string;
  formSlug: string | undefined;
  publicForm: PublicForm;
  applicant: ApplicantView | null;
  applicantError: string | null;
  signInError: string | null;
}) {
  const { organization, form } = publicForm;
  const questions = form.questions;
  const defaultValues = useMemo<ApplyValues>(
    () => ({
      applicant: { name: '', email: '', discordUserId: '' },
      answers: Object.fromEntries(questions.map((q) => [q.id, emptyAnswer(q)])),
    }),
    [questions],
  );
  const {
    register,
    handleSubmit,
    setError,
    getValues,
    formState: { errors, isSubmitting },
  } = useForm<ApplyValues>({ defaultValues, mode: 'onTouched', shouldFocusError: true });
  const [serverError, setServerError] = useState<string | null>(null);
  const [done, setDone] = useState<SubmittedApplication | null>(null);
  const noticeRef = useRef<HTMLDivElement>(null);

  const verified = applicant?.discordUser ?? null;
  const requireSignIn = organization.requireDiscordSignIn;
  const mustSignIn = requireSignIn && !verified;

  const onSubmit = async (values: ApplyValues) => {
    setServerError(null);
    const discordUserId = verified ? '' : values.applicant.discordUserId.trim();
    try {
      const result = await submitApplication(orgSlug, form.slug, {
        applicant: { name: values.applicant.name.trim(), email: values.applicant.email.trim() },
        answers: answersToSend(questions, values.answers),
        ...(discordUserId ? { custom_data: { discord_user_id: discordUserId } } : {}),
      });
      setDone(result);
    } catch (err) {
      if (err instanceof ApiError && err.status === 400) {
        // Each refusal under its own field; the first of them takes the focus.
        const known = fieldsOfServerError(err.message)
          .map((named) => ({
            ...named,
            path: named.field === 'custom_data.discord_user_id' ? 'applicant.discordUserId' : named.field,
          }))
          .filter(
            ({ path }) =>
              (path.startsWith('applicant.') || questions.some((q) => `answers.${q.id}` === path)) &&
              !(path === 'applicant.discordUserId' && (verified || requireSignIn)),
          );
        if (known.length > 0) {
          known.forEach(({ path, message }, i) =>
            setError(path as FieldPath<ApplyValues>, { type: 'server', message }, { shouldFocus: i === 0 }),
          );
          return;
        }
      }
      setServerError(
        err instanceof ApiError && err.code === 'cooldown'
          ? cooldownMessage(err)
          : err instanceof ApiError && err.status === 404
            ? 'This application form does not exist. Please check the link you were given.'
            : err instanceof ApiError && err.code === 'discord_sign_in_required'
              ? 'Please sign in with Discord first.'
              : errorMessage(err),
      );
      // The refusal is the news: move there so it is read out.
      setTimeout(() => noticeRef.current?.focus(), 0);
    }
  };

  if (done) {
    return (
      <main id="main" className="auth-page">
        <div className="card auth-card">
          <PageHeading>Application received</PageHeading>
          <Notice kind="success">
            Thank you, {getValues('applicant.name').trim()}. Your application was submitted and will be reviewed soon.
          </Notice>
          {done.statusUrl ? (
            <div className="status-link-box">
              <p>
                <strong>Your private status link.</strong> Keep it: it shows whether your application was approved.
                Anyone with the link can see the status.
              </p>
              <p>
                <StatusLink url={done.statusUrl} />
              </p>
              {verified ? (
                <p className="muted small">You can also find it again here by signing in with Discord.</p>
              ) : null}
            </div>
          ) : null}
          {verified ? (
            <p>If it is approved, you will be added to the organization's Discord server with its role.</p>
          ) : getValues('applicant.discordUserId').trim() ? (
            <p>
              If it is approved, you will get the role in the organization's Discord server — make sure you have joined
              it.
            </p>
          ) : null}
          <p className="muted small">Reference: {done.id}</p>
        </div>
      </main>
    );
  }

  return (
    <main id="main" className="auth-page">
      <form className="card auth-card apply-form" onSubmit={(e) => void handleSubmit(onSubmit)(e)} noValidate>
        <PageHeading>
          {form.title || 'Apply for membership'} — {organization.name}
        </PageHeading>
        {form.description ? <p className="form-description">{form.description}</p> : null}
        <div ref={noticeRef} tabIndex={-1} className="notice-anchor">
          {serverError ? <Notice kind="error">{serverError}</Notice> : null}
        </div>
        {signInError ? <Notice kind="error">{signInMessage(signInError)}</Notice> : null}
        {applicantError ? <Notice kind="error">{applicantError}</Notice> : null}
        {verified ? (
          <div className="signed-in" data-testid="discord-account">
            <DiscordIdentity user={{ ...verified, verified: true }} showAge={false} />
            <p className="muted small">Signed in with Discord: if you are approved, the role goes to this account.</p>
          </div>
        ) : (
          <div className="sign-in">
            <a className="button-link discord" href={signInHref(orgSlug)} onClick={() => remember(orgSlug, formSlug)}>
              Sign in with Discord
            </a>
            <p className="muted small">
              {requireSignIn
                ? 'Signing in proves the Discord account is yours; if you are approved, you are added to the server with its role.'
                : 'Recommended: signing in proves the account is yours and adds you to the server on approval.'}
            </p>
          </div>
        )}
        {applicant?.applications && applicant.applications.length > 0 ? (
          <YourApplications items={applicant.applications} />
        ) : null}
        {mustSignIn ? (
          <p className="muted">Sign in with Discord to see the questions and apply.</p>
        ) : (
          <>
            <ApplicantField
              label="Name"
              error={errors.applicant?.name?.message}
              input={(a11y) => (
                <input
                  {...a11y}
                  autoComplete="name"
                  required
                  {...register('applicant.name', { validate: checkApplicant('name') })}
                />
              )}
            />
            <ApplicantField
              label="Email"
              error={errors.applicant?.email?.message}
              input={(a11y) => (
                <input
                  {...a11y}
                  type="email"
                  autoComplete="email"
                  required
                  {...register('applicant.email', { validate: checkApplicant('email') })}
                />
              )}
            />
            {verified || requireSignIn ? null : (
              <ApplicantField
                label="Discord user ID (optional)"
                optional
                error={errors.applicant?.discordUserId?.message}
                hint={
                  <>
                    To copy it: in Discord open <strong>User Settings → Advanced</strong> and turn on{' '}
                    <strong>Developer Mode</strong>, then right-click (or long-press) your name and choose{' '}
                    <strong>Copy User ID</strong>. It is a number of 17 to 20 digits.
                  </>
                }
                input={(a11y) => (
                  <input
                    {...a11y}
                    inputMode="numeric"
                    autoComplete="off"
                    spellCheck={false}
                    {...register('applicant.discordUserId', { validate: checkApplicant('discordUserId') })}
                  />
                )}
              />
            )}
            {questions.map((q) => (
              <QuestionField key={q.id} question={q} register={register} error={errors.answers?.[q.id]?.message} />
            ))}
          </>
        )}
        <button type="submit" disabled={isSubmitting || mustSignIn}>
          {isSubmitting ? <Spinner /> : null}
          {isSubmitting ? 'Submitting…' : 'Submit application'}
        </button>
      </form>
    </main>
  );
}

/** The applicant's own fields (name, email, a typed Discord ID): a label, a hint and the error. */
function ApplicantField({
  label,
  hint,
  error,
  optional = false,
  input,
}: {
  label: string;
  hint?: ReactNode;
  error?: string;
  optional?: boolean;
  input: (a11y: { id: string; 'aria-describedby'?: string; 'aria-invalid'?: boolean }) => ReactNode;
}) {
  const id = `applicant-${label.toLowerCase().replace(/\W+/g, '-')}`;
  const describedBy = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>
        {label}
        <RequiredMark required={!optional} />
      </label>
      {input({ id, 'aria-describedby': describedBy, 'aria-invalid': error ? true : undefined })}
      {hint ? (
        <div className="hint" id={`${id}-hint`}>
          {hint}
        </div>
      ) : null}
      {error ? (
        <div className="field-error" id={`${id}-error`}>
          {error}
        </div>
      ) : null}
    </div>
  );
}

/** A cooldown's 409: the date the applicant may apply again. */
export function cooldownMessage(err: ApiError): string {
  const retryAfter = typeof err.details.retryAfter === 'string' ? err.details.retryAfter : null;
  const date = retryAfter ? new Date(retryAfter) : null;
  if (!date || Number.isNaN(date.getTime())) return err.message;
  // The wait ends at a UTC midnight: said in the applicant's own time, so the day is right for them.
  const when = date.toLocaleString(undefined, { dateStyle: 'long', timeStyle: 'short' });
  return `You cannot apply to this form again yet. You may apply again from ${when}.`;
}
