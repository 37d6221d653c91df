import { api } from './api.js';
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

/** A form as applicants see it; `formSlug` omitted: the organization's default form, whatever its slug. */
export const getPublicForm = (orgSlug: string, formSlug?: string) =>
  api<PublicForm>(`/api/public/organizations/${enc(orgSlug)}/${formSlug ? `forms/${enc(formSlug)}` : 'form'}`);

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
