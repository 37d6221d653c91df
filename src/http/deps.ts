import type { Client as TemporalClient } from '@temporalio/client';
import type { Config } from '../config';
import type { Pool } from '../db/pool';
import type { Logger } from '../logger';

/** Everything the HTTP layer talks to, injected so tests can build an app on their own services. */
export interface AppDeps {
  config: Config;
  pool: Pool;
  temporal: TemporalClient;
  logger: Logger;
  /** Test hook: the automatic re-check schedule of applicants who have not joined the Discord server. */
  memberRecheckDelaysMs?: number[];
}
