import type { Client as TemporalClient } from '@temporalio/client';
import type { Config } from '../config.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../logger.js';
import type { RoleWorkflowOptions } from '../temporal/shared.js';

/** Everything the HTTP layer talks to, injected so tests can build an app on their own services. */
export interface AppDeps {
  config: Config;
  pool: Pool;
  temporal: TemporalClient;
  logger: Logger;
  /** Test hooks of the role workflows this app starts (re-check schedule, database retry bounds). */
  roleWorkflowOptions?: RoleWorkflowOptions;
}
