/** Where an organization's Discord connection stands (`discord_configs.connection_state`). */
export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'error';
