/**
 * Discord's OAuth2, both flows:
 * - the bot flow (`scope=bot`): the authorize page picks a server, the redirect carries a
 *   single-use code, and the token exchange answers with the guild;
 * - the user flow (`scope=identify guilds.join`): the authorize page shows which sandbox user
 *   signs in, the code is exchanged for a user's access and refresh tokens, which can be refreshed
 *   and revoked, and which `GET /users/@me` and Add Guild Member accept.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type {
  RESTPostOAuth2AccessTokenResult,
  RESTPostOAuth2AccessTokenWithBotAndGuildsScopeResult,
} from 'discord-api-types/v10';
import type { SandboxState } from './state.js';

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

export interface UserAuthorizeRequest {
  clientId?: string;
  redirectUri: string;
  state: string;
  /** The sandbox user who signs in. */
  userId: string;
  /** Space-separated scopes; default `identify guilds.join`. */
  scope?: string;
  /** The user pressed Cancel. */
  deny?: boolean;
}

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  expiresAt: number;
  grant: { kind: 'bot'; guildId: string; permissions: string } | { kind: 'user'; userId: string; scopes: string[] };
}

/** What a user's access token stands for. */
export interface UserGrant {
  userId: string;
  scopes: string[];
}

interface AccessToken extends UserGrant {
  expiresAt: number;
  refreshToken: string;
}

interface RefreshToken extends UserGrant {
  accessToken: string;
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

export interface OAuthErrorBody {
  error: string;
  error_description?: string;
}

export interface TokenReply {
  status: number;
  body:
    | RESTPostOAuth2AccessTokenWithBotAndGuildsScopeResult
    | RESTPostOAuth2AccessTokenResult
    | OAuthErrorBody
    | Record<string, never>;
  headers?: Record<string, string>;
}

export interface TokenRequest {
  contentTypeIsForm: boolean;
  authorization: string | undefined;
  form: Record<string, unknown>;
}

const ACCESS_DENIED_DESCRIPTION = 'The resource owner or authorization server denied the request';
/** Discord's access tokens live a week (`expires_in: 604800`). */
export const ACCESS_TOKEN_TTL_SECONDS = 604_800;
/** Scopes the sandbox's user flow grants; `bot` and `applications.commands` belong to the bot flow. */
export const USER_SCOPES = ['identify', 'email', 'guilds', 'guilds.join'] as const;
const DEFAULT_USER_SCOPE = 'identify guilds.join';
const BOT_SCOPES = ['bot', 'applications.commands'];
const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

/** Splits a scope parameter (spaces, or `+` left over from form encoding) into unique scopes, in order. */
export function parseScopes(scope: string | undefined): string[] {
  return [...new Set((scope ?? '').split(/[\s+]+/).filter(Boolean))];
}

/** The bot flow unless the scopes name only user scopes: an absent scope keeps the bot flow, as before. */
export function isBotFlow(scope: string | undefined): boolean {
  const scopes = parseScopes(scope);
  return scopes.length === 0 || scopes.some((s) => BOT_SCOPES.includes(s));
}

function token(): string {
  return randomBytes(24).toString('base64url');
}

function fail(status: number, error: string, description?: string): TokenReply {
  return {
    status,
    headers: NO_STORE,
    body: description === undefined ? { error } : { error, error_description: description },
  };
}

export class OAuthService {
  private readonly codes = new Map<string, IssuedCode>();
  private readonly accessTokens = new Map<string, AccessToken>();
  private readonly refreshTokens = new Map<string, RefreshToken>();

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

  /** The user flow's extra checks: `response_type=code` and scopes the sandbox knows. */
  validateUserScopes(scope: string | undefined, responseType: string | undefined): string[] {
    if (responseType !== undefined && responseType !== 'code') {
      throw new AuthorizePageError(
        400,
        responseType
          ? `Invalid response_type: ${responseType} (only "code" is supported).`
          : 'response_type is required.',
      );
    }
    const scopes = parseScopes(scope ?? DEFAULT_USER_SCOPE);
    const unknown = scopes.filter((s) => !(USER_SCOPES as readonly string[]).includes(s));
    if (scopes.length === 0 || unknown.length > 0) {
      throw new AuthorizePageError(400, `Invalid OAuth2 scope: ${unknown.join(' ') || '(none)'}.`);
    }
    return scopes;
  }

  /** Performs the user's choice and returns the URL Discord redirects the browser to. */
  authorize(request: AuthorizeRequest): string {
    const redirect = this.validate(request.clientId ?? this.clientId, request.redirectUri);
    if (request.deny) return denied(redirect, request.state);
    const guildId = request.guildId ?? this.state.guilds.keys().next().value;
    if (!guildId || !this.state.guilds.has(guildId)) {
      throw new AuthorizePageError(400, 'Choose a server to add the bot to.');
    }
    const permissions = request.permissions ?? '0';
    if (!/^\d{1,20}$/.test(permissions)) throw new AuthorizePageError(400, 'Invalid permissions.');
    this.state.installBot(guildId, BigInt(permissions));
    const code = this.issueCode(request.clientId ?? this.clientId, request.redirectUri, {
      kind: 'bot',
      guildId,
      permissions,
    });
    redirect.searchParams.set('code', code);
    redirect.searchParams.set('state', request.state);
    redirect.searchParams.set('guild_id', guildId);
    redirect.searchParams.set('permissions', permissions);
    return redirect.toString();
  }

  /** The user flow: the user signs in (or cancels); the redirect carries `code` and `state` only. */
  authorizeUser(request: UserAuthorizeRequest): string {
    const redirect = this.validate(request.clientId ?? this.clientId, request.redirectUri);
    // Invalid scopes (`bot` included: that is authorize()) get an error page, even on Cancel.
    const scopes = this.validateUserScopes(request.scope, undefined);
    if (request.deny) return denied(redirect, request.state);
    const user = this.state.users.get(request.userId);
    if (!user || user.id === this.state.botUserId) throw new AuthorizePageError(400, 'Choose who signs in.');
    const code = this.issueCode(request.clientId ?? this.clientId, request.redirectUri, {
      kind: 'user',
      userId: user.id,
      scopes,
    });
    redirect.searchParams.set('code', code);
    redirect.searchParams.set('state', request.state);
    return redirect.toString();
  }

  private issueCode(clientId: string, redirectUri: string, grant: IssuedCode['grant']): string {
    const code = randomBytes(15).toString('base64url');
    this.codes.set(code, { clientId, redirectUri, grant, expiresAt: Date.now() + this.codeTtlMs });
    return code;
  }

  /** Client authentication shared by the token and revocation endpoints: HTTP Basic, else the form. */
  private authenticate(request: TokenRequest): TokenReply | undefined {
    if (!request.contentTypeIsForm) {
      return fail(400, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded.');
    }
    const credentials = parseBasic(request.authorization) ?? {
      clientId: formValue(request, 'client_id'),
      clientSecret: formValue(request, 'client_secret'),
    };
    if (
      credentials.clientId !== this.clientId ||
      credentials.clientSecret === undefined ||
      !safeEqual(credentials.clientSecret, this.clientSecret)
    ) {
      return fail(401, 'invalid_client');
    }
    return undefined;
  }

  /** `POST /api/oauth2/token`: `grant_type=authorization_code` (both flows) or `refresh_token` (user flow). */
  exchange(request: TokenRequest): TokenReply {
    const refused = this.authenticate(request);
    if (refused) return refused;
    const grantType = formValue(request, 'grant_type');
    if (grantType === 'refresh_token') return this.refresh(request);
    if (grantType !== 'authorization_code') {
      return fail(400, 'unsupported_grant_type', `Grant type ${grantType ?? 'None'} is not supported`);
    }
    const codeValue = formValue(request, 'code');
    if (!codeValue) return fail(400, 'invalid_request', 'Missing "code" in request.');
    const code = this.codes.get(codeValue);
    // Single use: whatever happens next, this code is spent.
    this.codes.delete(codeValue);
    if (!code || code.expiresAt <= Date.now() || code.clientId !== this.clientId) {
      return fail(400, 'invalid_grant', 'Invalid "code" in request.');
    }
    if (formValue(request, 'redirect_uri') !== code.redirectUri) {
      return fail(400, 'invalid_grant', 'Invalid "redirect_uri" in request.');
    }
    if (code.grant.kind === 'user') {
      if (!this.state.users.has(code.grant.userId)) return fail(400, 'invalid_grant', 'Invalid "code" in request.');
      return this.issueTokens(code.grant);
    }
    const guild = this.state.guilds.get(code.grant.guildId);
    if (!guild) return fail(400, 'invalid_grant', 'Invalid "code" in request.');
    return {
      status: 200,
      headers: NO_STORE,
      body: {
        access_token: token(),
        token_type: 'Bearer',
        expires_in: ACCESS_TOKEN_TTL_SECONDS,
        refresh_token: token(),
        scope: 'bot',
        guild: this.state.guildPayload(guild),
      },
    };
  }

  /** `grant_type=refresh_token`: a new pair; the old refresh and access tokens stop working. */
  private refresh(request: TokenRequest): TokenReply {
    const value = formValue(request, 'refresh_token');
    if (!value) return fail(400, 'invalid_request', 'Missing "refresh_token" in request.');
    const refresh = this.refreshTokens.get(value);
    if (!refresh || !this.state.users.has(refresh.userId)) {
      return fail(400, 'invalid_grant', 'Invalid "refresh_token" in request.');
    }
    this.refreshTokens.delete(value);
    this.accessTokens.delete(refresh.accessToken);
    return this.issueTokens({ userId: refresh.userId, scopes: refresh.scopes });
  }

  private issueTokens(grant: UserGrant): TokenReply {
    const accessToken = token();
    const refreshToken = token();
    this.accessTokens.set(accessToken, {
      ...grant,
      expiresAt: Date.now() + ACCESS_TOKEN_TTL_SECONDS * 1000,
      refreshToken,
    });
    this.refreshTokens.set(refreshToken, { ...grant, accessToken });
    const body: RESTPostOAuth2AccessTokenResult = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: ACCESS_TOKEN_TTL_SECONDS,
      refresh_token: refreshToken,
      scope: grant.scopes.join(' '),
    };
    return { status: 200, headers: NO_STORE, body };
  }

  /**
   * `POST /api/oauth2/token/revoke` (RFC 7009): `token`, optional `token_type_hint`. As Discord
   * documents, revoking any token revokes every access and refresh token of that authorization
   * (the user's authorization of this application), whatever the hint says. An unknown token
   * answers 200 too (RFC 7009 2.2).
   */
  revoke(request: TokenRequest): TokenReply {
    const refused = this.authenticate(request);
    if (refused) return refused;
    const value = formValue(request, 'token');
    if (!value) return fail(400, 'invalid_request', 'Missing "token" in request.');
    const hint = formValue(request, 'token_type_hint');
    if (hint !== undefined && hint !== 'access_token' && hint !== 'refresh_token') {
      return fail(400, 'unsupported_token_type', `Token type ${hint} is not supported`);
    }
    const userId = this.accessTokens.get(value)?.userId ?? this.refreshTokens.get(value)?.userId;
    if (userId !== undefined) this.revokeUser(userId);
    return { status: 200, headers: NO_STORE, body: {} };
  }

  /** The grant behind a live access token (unknown, expired and revoked tokens: undefined). */
  accessToken(value: string): UserGrant | undefined {
    const found = this.accessTokens.get(value);
    if (!found || found.expiresAt <= Date.now()) return undefined;
    return { userId: found.userId, scopes: [...found.scopes] };
  }

  /** As if the user deauthorized the application: every token of the user stops working. */
  revokeUser(userId: string): void {
    for (const [value, found] of this.accessTokens) if (found.userId === userId) this.accessTokens.delete(value);
    for (const [value, found] of this.refreshTokens) if (found.userId === userId) this.refreshTokens.delete(value);
  }

  /** The user's access tokens expire now; their refresh tokens keep working. */
  expireUser(userId: string): void {
    const now = Date.now();
    for (const found of this.accessTokens.values()) if (found.userId === userId) found.expiresAt = now;
  }

  /** The authorize page: "add to server" for the bot flow, "sign in as" for the user flow. */
  renderAuthorizePage(query: Record<string, string | undefined>): string {
    return isBotFlow(query.scope) ? this.renderBotPage(query) : this.renderUserPage(query);
  }

  /** The "add to server" page. Works without JavaScript; no external assets. */
  private renderBotPage(query: Record<string, string | undefined>): string {
    const guilds = [...this.state.guilds.values()];
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
    <p>Requested permissions: <code>${escapeHtml(query.permissions ?? '0')}</code> (268435456 is Manage Roles, 1 is Create Instant Invite: 268435457 is both).</p>
    <form method="post" action="/oauth2/authorize">
      ${hiddenFields(query, ['client_id', 'redirect_uri', 'state', 'permissions', 'scope', 'response_type'])}
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

  /**
   * The user flow's page: which sandbox user signs in (an existing one, or a new one made from
   * the form), the scopes asked for, Authorize and Cancel. Works without JavaScript.
   */
  private renderUserPage(query: Record<string, string | undefined>): string {
    const users = this.state.humanUsers();
    const scopes = parseScopes(query.scope);
    const options = users
      .map((user, index) => {
        const name = user.global_name ? `${user.global_name} (@${user.username})` : `@${user.username}`;
        return (
          `<li><input type="radio" id="user-${user.id}" name="user_id" value="${user.id}"${index === 0 ? ' checked' : ''} required>` +
          ` <label for="user-${user.id}">${escapeHtml(name)}</label></li>`
        );
      })
      .join('\n          ');
    const described: Record<string, string> = {
      identify: 'Access your username, avatar and banner',
      email: 'Access your email address',
      guilds: 'Know what servers you are in',
      'guilds.join': 'Join servers for you',
    };
    return page(
      `${this.state.applicationName} wants to access your account`,
      `<main>
    <h1>${escapeHtml(this.state.applicationName)} wants to access your account</h1>
    <p>Discord sandbox: this page stands in for Discord's authorization screen. Choose who is signing in.</p>
    <p>This will allow the developer of ${escapeHtml(this.state.applicationName)} to:</p>
    <ul class="scopes">
      ${scopes.map((scope) => `<li><code>${escapeHtml(scope)}</code>: ${escapeHtml(described[scope] ?? scope)}</li>`).join('\n      ')}
    </ul>
    <form method="post" action="/oauth2/authorize">
      ${hiddenFields(query, ['client_id', 'redirect_uri', 'state', 'scope', 'response_type', 'prompt'])}
      <fieldset>
        <legend>Sign in as</legend>
        <ul>
          ${options}
          <li><input type="radio" id="user-new" name="user_id" value="new"${users.length ? '' : ' checked'} required> <label for="user-new">A new user:</label>
            <label for="new-username">username</label> <input type="text" id="new-username" name="new_username" pattern="[a-z0-9_.]{2,32}" maxlength="32" autocomplete="off">
            <label for="new-global-name">display name</label> <input type="text" id="new-global-name" name="new_global_name" maxlength="32" autocomplete="off"></li>
        </ul>
      </fieldset>
      <button type="submit" name="action" value="authorize">Authorize</button>
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

function denied(redirect: URL, state: string): string {
  redirect.searchParams.set('error', 'access_denied');
  redirect.searchParams.set('error_description', ACCESS_DENIED_DESCRIPTION);
  redirect.searchParams.set('state', state);
  return redirect.toString();
}

function formValue(request: TokenRequest, key: string): string | undefined {
  const value = request.form[key];
  return typeof value === 'string' ? value : undefined;
}

function hiddenFields(query: Record<string, string | undefined>, names: string[]): string {
  return names
    .map((name) => `<input type="hidden" name="${name}" value="${escapeHtml(query[name] ?? '')}">`)
    .join('\n      ');
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
