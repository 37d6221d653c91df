import type { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { Logger } from '../logger.js';
import { StartError } from '../start-error.js';
import { searchAttributeKeys } from './search-attributes.js';

/** The commands that create the search attributes by hand (Temporal CLI), for one namespace. */
export function searchAttributeCommands(namespace: string, names = searchAttributeKeys.map((k) => k.name)): string {
  return names
    .map((name) => `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type Keyword`)
    .join(' && ');
}

/**
 * Registers this project's search attributes on a Temporal cluster that lacks them (the dev server
 * gets them as flags). Without them every workflow start and upsert of ours fails, so a worker that
 * can neither find nor add them does not start: the StartError says the command that adds them
 * (Temporal Cloud: `tcld namespace search-attributes add`, or the Cloud UI).
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string, logger: Logger): Promise<void> {
  const missingOf = async () => {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    return searchAttributeKeys.filter((k) => !(k.name in (existing.customAttributes ?? {}))).map((k) => k.name);
  };
  let missing: string[] = searchAttributeKeys.map((k) => k.name);
  try {
    missing = await missingOf();
    if (missing.length === 0) return;
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(
        missing.map((name) => [name, proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
      ),
    });
    logger.info({ added: missing }, 'registered search attributes');
    missing = await missingOf();
    if (missing.length === 0) return;
  } catch (err) {
    throw new StartError(
      `the search attributes ${missing.join(', ')} are missing in the namespace ${namespace} and could not be added (${(err as Error).message})`,
      `Add them with an account allowed to, then start the worker again: ${searchAttributeCommands(namespace, missing)}`,
      { cause: err },
    );
  }
  throw new StartError(
    `the search attributes ${missing.join(', ')} are still missing in the namespace ${namespace} after adding them`,
    `Add them by hand, then start the worker again: ${searchAttributeCommands(namespace, missing)}`,
  );
}
