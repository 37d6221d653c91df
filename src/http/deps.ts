import type { Client as TemporalClient } from '@temporalio/client';
import type { Config } from '../config';
import type { Pool } from '../db/pool';
import type { Logger } from '../logger';
import type { RoleWorkflowOptions } from '../temporal/shared';

/** Everything the HTTP layer talks to, injected so tests can build an app on their own services. */
export interface AppDeps {
  config: Config;
  pool: Pool;
  temporal: TemporalClient;
  logger: Logger;
  /** Test hooks of the role workflows this app starts (re-check schedule, database retry bounds). */
  roleWorkflowOptions?: RoleWorkflowOptions;
}
