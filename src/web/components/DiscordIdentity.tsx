import type { Application } from '../types.js';

type Identity = NonNullable<Application['discordUser']>;

const DAY_MS = 86_400_000;

/** "created 3 days ago", "created 2 years ago": how reviewers spot throwaway accounts. */
export function accountAge(createdAt: string, now: number = Date.now()): string {
  const days = Math.floor((now - new Date(createdAt).getTime()) / DAY_MS);
  if (days < 1) return 'created today';
  if (days < 60) return `created ${days} day${days === 1 ? '' : 's'} ago`;
  const months = Math.floor(days / 30.44);
  if (months < 24) return `created ${months} months ago`;
  return `created ${Math.floor(days / 365.25)} years ago`;
}

/** The applicant's Discord account: avatar, names, verified or not, and the account's age. */
export function DiscordIdentity({ user, showAge = true }: { user: Identity; showAge?: boolean }) {
  const name = user.globalName ?? user.username ?? 'Discord user';
  const initial = name.trim().charAt(0).toUpperCase() || '?';
  const young = Date.now() - new Date(user.accountCreatedAt).getTime() < 30 * DAY_MS;
  return (
    <div className="discord-identity" data-testid="discord-identity">
      {user.avatarUrl ? (
        <img className="avatar" src={user.avatarUrl} alt="" width={32} height={32} />
      ) : (
        <span className="avatar avatar-initial" aria-hidden="true">
          {initial}
        </span>
      )}
      <div>
        <div>
          {user.username ? (
            <>
              <strong>{name}</strong> <span className="muted small">@{user.username}</span>
            </>
          ) : (
            <span className="mono small">Discord {user.id}</span>
          )}{' '}
          {user.verified ? (
            <span className="tag tag-verified" data-testid="discord-verified">
              verified
            </span>
          ) : (
            <span
              className="tag tag-unverified"
              data-testid="discord-verified"
              title="Typed by the applicant: nothing proves this account is theirs."
            >
              unverified
            </span>
          )}
        </div>
        {showAge ? (
          <div className={`small ${young ? 'warning-text' : 'muted'}`} data-testid="discord-account-age">
            <time dateTime={user.accountCreatedAt}>{accountAge(user.accountCreatedAt)}</time>
          </div>
        ) : null}
      </div>
    </div>
  );
}
