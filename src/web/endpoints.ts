import { api, ApiError } from './api.js';
import type {
  ApplicantView,
  AuditEntry,
  Form,
  FormInput,
  PublicForm,
  PublicStatus,
  ReviewedApplication,
  TimelineItem,
} from './types.js';

const enc = encodeURIComponent;

/** The forms of the signed-in user's organization. */
export const listForms = () => api<{ items: Form[] }>('/api/forms');

/** One form: its latest version, or the version given. */
export const getForm = (formId: string, version?: number | null) =>
  api<Form>(`/api/forms/${enc(formId)}${version ? `?version=${version}` : ''}`);

export const createForm = (input: FormInput) => api<Form>('/api/forms', { method: 'POST', body: input });

export const updateForm = (formId: string, input: FormInput) =>
  api<Form>(`/api/forms/${enc(formId)}`, { method: 'PUT', body: input });

/** Where an admin downloads the applications of a form as CSV. */
export const exportCsvHref = (formId: string) => `/api/applications/export.csv?formId=${enc(formId)}`;

/** The slug every organization's first form has. */
export const DEFAULT_FORM_SLUG = 'apply';

/**
 * A form as applicants see it; `formSlug` omitted: the organization's default form, whatever its
 * slug (asked of the API; a server without that route is asked for the first form's slug).
 */
export async function getPublicForm(orgSlug: string, formSlug?: string): Promise<PublicForm> {
  const org = `/api/public/organizations/${enc(orgSlug)}`;
  if (formSlug) return api<PublicForm>(`${org}/forms/${enc(formSlug)}`);
  try {
    return await api<PublicForm>(`${org}/form`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return api<PublicForm>(`${org}/forms/${DEFAULT_FORM_SLUG}`);
    throw err;
  }
}

export interface SubmittedApplication {
  id: string;
  status: string;
  statusUrl?: string;
}

export const submitApplication = (orgSlug: string, formSlug: string, body: unknown) =>
  api<SubmittedApplication>(`/api/public/organizations/${enc(orgSlug)}/forms/${enc(formSlug)}/applications`, {
    method: 'POST',
    body,
  });

/** Who is signed in with Discord on the public form, and their applications. */
export const getApplicant = (orgSlug: string) =>
  api<ApplicantView>(`/api/public/organizations/${enc(orgSlug)}/applicant`);

export const getPublicStatus = (applicationId: string, token: string) =>
  api<PublicStatus>(`/api/public/applications/${enc(applicationId)}/status?token=${enc(token)}`);

export const getReviewedApplication = (id: string) => api<ReviewedApplication>(`/api/applications/${enc(id)}`);

export const getTimeline = (id: string) => api<{ items: TimelineItem[] }>(`/api/applications/${enc(id)}/timeline`);

export interface AuditQuery {
  applicationId?: string;
  userId?: string;
  action?: string;
  after?: string;
  before?: string;
  cursor?: string;
  limit?: number;
}

export function listAuditLog(query: AuditQuery) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  return api<{ items: AuditEntry[]; nextCursor: string | null }>(`/api/audit-log?${params}`);
}
