/**
 * Discord's OAuth2 bot flow: the authorize page (pick a server), the redirect back with a
 * single-use code, and the token exchange whose answer carries the guild.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { RESTPostOAuth2AccessTokenWithBotAndGuildsScopeResult } from 'discord-api-types/v10';
import type { SandboxState } from './state';

export interface AuthorizeRequest {
  clientId?: string;
  redirectUri: string;
  state: string;
  /** The server the user picked; default the first guild of the sandbox. */
  guildId?: string;
  /** Requested permissions (decimal string); default 0. */
  permissions?: string;
  /** The user pressed Cancel. */
  deny?: boolean;
}

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  guildId: string;
  permissions: string;
  expiresAt: number;
}

/** A problem with the authorize request itself: Discord shows an error page, no redirect. */
export class AuthorizePageError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface TokenReply {
  status: number;
  body: RESTPostOAuth2AccessTokenWithBotAndGuildsScopeResult | { error: string; error_description?: string };
  headers?: Record<string, string>;
}

export interface TokenRequest {
  contentTypeIsForm: boolean;
  authorization: string | undefined;
  form: Record<string, unknown>;
}

const ACCESS_DENIED_DESCRIPTION = 'The resource owner or authorization server denied the request';

export class OAuthService {
  private readonly codes = new Map<string, IssuedCode>();

  constructor(
    private readonly state: SandboxState,
    private readonly clientId: string,
    private readonly clientSecret: string,
    private readonly codeTtlMs: number,
  ) {}

  /** Validates an authorize request the way Discord does before showing the page. */
  validate(clientId: string | undefined, redirectUri: string | undefined): URL {
    if (!clientId || clientId !== this.clientId) {
      throw new AuthorizePageError(400, 'Unknown Application: the client_id does not belong to any application.');
    }
    if (!redirectUri) throw new AuthorizePageError(400, 'Invalid OAuth2 redirect_uri: it is missing.');
    try {
      const url = new URL(redirectUri);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
      return url;
    } catch {
      throw new AuthorizePageError(400, 'Invalid OAuth2 redirect_uri: it is not an http(s) URL.');
    }
  }

  /** Performs the user's choice and returns the URL Discord redirects the browser to. */
  authorize(request: AuthorizeRequest): string {
    const redirect = this.validate(request.clientId ?? this.clientId, request.redirectUri);
    if (request.deny) {
      redirect.searchParams.set('error', 'access_denied');
      redirect.searchParams.set('error_description', ACCESS_DENIED_DESCRIPTION);
      redirect.searchParams.set('state', request.state);
      return redirect.toString();
    }
    const guildId = request.guildId ?? this.state.guilds.keys().next().value;
    if (!guildId || !this.state.guilds.has(guildId)) {
      throw new AuthorizePageError(400, 'Choose a server to add the bot to.');
    }
    const permissions = request.permissions ?? '0';
    if (!/^\d{1,20}$/.test(permissions)) throw new AuthorizePageError(400, 'Invalid permissions.');
    this.state.installBot(guildId, BigInt(permissions));
    const code = randomBytes(15).toString('base64url');
    this.codes.set(code, {
      clientId: request.clientId ?? this.clientId,
      redirectUri: request.redirectUri,
      guildId,
      permissions,
      expiresAt: Date.now() + this.codeTtlMs,
    });
    redirect.searchParams.set('code', code);
    redirect.searchParams.set('state', request.state);
    redirect.searchParams.set('guild_id', guildId);
    redirect.searchParams.set('permissions', permissions);
    return redirect.toString();
  }

  /** `POST /api/oauth2/token` with `grant_type=authorization_code`. */
  exchange(request: TokenRequest): TokenReply {
    const noStore = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };
    const fail = (status: number, error: string, description?: string): TokenReply => ({
      status,
      headers: noStore,
      body: description === undefined ? { error } : { error, error_description: description },
    });
    if (!request.contentTypeIsForm) {
      return fail(400, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded.');
    }
    const form = (key: string): string | undefined =>
      typeof request.form[key] === 'string' ? (request.form[key] as string) : undefined;

    const credentials = parseBasic(request.authorization) ?? {
      clientId: form('client_id'),
      clientSecret: form('client_secret'),
    };
    if (
      credentials.clientId !== this.clientId ||
      credentials.clientSecret === undefined ||
      !safeEqual(credentials.clientSecret, this.clientSecret)
    ) {
      return fail(401, 'invalid_client');
    }
    const grantType = form('grant_type');
    if (grantType !== 'authorization_code') {
      return fail(400, 'unsupported_grant_type', `Grant type ${grantType ?? 'None'} is not supported`);
    }
    const codeValue = form('code');
    if (!codeValue) return fail(400, 'invalid_request', 'Missing "code" in request.');
    const code = this.codes.get(codeValue);
    // Single use: whatever happens next, this code is spent.
    this.codes.delete(codeValue);
    if (!code || code.expiresAt <= Date.now() || code.clientId !== credentials.clientId) {
      return fail(400, 'invalid_grant', 'Invalid "code" in request.');
    }
    if (form('redirect_uri') !== code.redirectUri) {
      return fail(400, 'invalid_grant', 'Invalid "redirect_uri" in request.');
    }
    const guild = this.state.guilds.get(code.guildId);
    if (!guild) return fail(400, 'invalid_grant', 'Invalid "code" in request.');
    return {
      status: 200,
      headers: noStore,
      body: {
        access_token: randomBytes(20).toString('base64url'),
        token_type: 'Bearer',
        expires_in: 604_800,
        refresh_token: randomBytes(20).toString('base64url'),
        scope: 'bot',
        guild: this.state.guildPayload(guild),
      },
    };
  }

  /** The "add to server" page. Works without JavaScript; no external assets. */
  renderAuthorizePage(query: Record<string, string | undefined>): string {
    const guilds = [...this.state.guilds.values()];
    const hidden = ['client_id', 'redirect_uri', 'state', 'permissions', 'scope', 'response_type']
      .map((name) => `<input type="hidden" name="${name}" value="${escapeHtml(query[name] ?? '')}">`)
      .join('\n      ');
    const options = guilds.length
      ? guilds
          .map(
            (guild, index) =>
              `<li><input type="radio" id="guild-${guild.id}" name="guild_id" value="${guild.id}"${index === 0 ? ' checked' : ''} required>` +
              ` <label for="guild-${guild.id}">${escapeHtml(guild.name)}</label></li>`,
          )
          .join('\n          ')
      : '<li>You have no servers. Create one in the sandbox first.</li>';
    return page(
      `Add ${this.state.applicationName} to a server`,
      `<main>
    <h1>Add ${escapeHtml(this.state.applicationName)} to a server</h1>
    <p>Discord sandbox: this page stands in for Discord's authorization screen.</p>
    <p>Requested permissions: <code>${escapeHtml(query.permissions ?? '0')}</code> (268435456 is Manage Roles).</p>
    <form method="post" action="/oauth2/authorize">
      ${hidden}
      <fieldset>
        <legend>Add to server</legend>
        <ul>
          ${options}
        </ul>
      </fieldset>
      <button type="submit" name="action" value="authorize"${guilds.length ? '' : ' disabled'}>Authorize</button>
      <button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
    </form>
  </main>`,
    );
  }

  renderErrorPage(error: AuthorizePageError): string {
    return page(
      'Authorization error',
      `<main><h1>Authorization error</h1><p role="alert">${escapeHtml(error.message)}</p></main>`,
    );
  }
}

function parseBasic(header: string | undefined): { clientId: string; clientSecret: string } | undefined {
  const match = header ? /^Basic\s+(\S+)$/i.exec(header) : null;
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    // RFC 6749 2.3.1: both parts are form-urlencoded before base64.
    return {
      clientId: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')),
      clientSecret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')),
    };
  } catch {
    return undefined;
  }
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${escapeHtml(title)}</title>
  <style>
    body { font-family: system-ui, sans-serif; max-width: 32rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }
    ul { list-style: none; padding: 0; }
    li { padding: 0.25rem 0; }
    button { font-size: 1rem; padding: 0.5rem 1rem; margin-right: 0.5rem; }
  </style>
</head>
<body>
  ${body}
</body>
</html>
`;
}
