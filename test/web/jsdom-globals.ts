import { TextDecoder, TextEncoder } from 'node:util';

// jsdom leaves out TextEncoder, which react-router uses: Node's own, before the router loads.
Object.assign(globalThis, { TextEncoder, TextDecoder });
