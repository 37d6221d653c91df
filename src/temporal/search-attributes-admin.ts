import type { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { Logger } from '../logger.js';
import { searchAttributeKeys } from './search-attributes.js';

/**
 * Registers this project's search attributes on a Temporal cluster that lacks them (the dev
 * server gets them as flags). Where the operator API is not allowed, it says what to run instead.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string, logger: Logger): Promise<void> {
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = searchAttributeKeys.filter((k) => !(k.name in (existing.customAttributes ?? {})));
    if (missing.length === 0) return;
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(
        missing.map((k) => [k.name, proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
      ),
    });
    logger.info({ added: missing.map((k) => k.name) }, 'registered search attributes');
  } catch (err) {
    logger.warn(
      { err },
      `could not check or register the search attributes; register them yourself: ${searchAttributeKeys
        .map((k) => `temporal operator search-attribute create --name ${k.name} --type Keyword`)
        .join(' && ')}`,
    );
  }
}
