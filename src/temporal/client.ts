import { Client, Connection, type TLSConfig } from '@temporalio/client';
import type { Config } from '../config.js';

/** Where Temporal is and how to reach it: what the API, the worker and the CLI all connect with. */
export interface TemporalConnectionSettings {
  address: string;
  tls?: Config['temporal']['tls'];
  apiKey?: string;
}

/** The SDK's connection options (client and worker alike) for these settings. */
export function temporalConnectionOptions(settings: TemporalConnectionSettings): {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
} {
  const { address, tls, apiKey } = settings;
  return {
    address,
    ...(tls
      ? {
          tls: {
            ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
            ...(tls.ca ? { serverRootCACertificate: tls.ca } : {}),
            ...(tls.clientCert ? { clientCertPair: tls.clientCert } : {}),
          },
        }
      : {}),
    ...(apiKey ? { apiKey } : {}),
  };
}

/** The settings of `config.temporal`; its address must be set (every process but `npm start` requires it). */
export function temporalSettingsOf(config: Config): TemporalConnectionSettings {
  const { address, tls, apiKey } = config.temporal;
  if (!address) throw new Error('TEMPORAL_ADDRESS is not set');
  return { address, tls, apiKey };
}

export async function connectTemporal(options: TemporalConnectionSettings & { namespace: string }): Promise<Client> {
  const connection = await Connection.connect({ ...temporalConnectionOptions(options), connectTimeout: '5s' });
  return new Client({ connection, namespace: options.namespace });
}
