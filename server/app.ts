/**
 * The backend as one object: the broker core (server/broker/) behind its HTTP edge
 * (server/http/). Tests mount it without listening; backend.ts wires it from configuration.
 */
import type express from 'express';
import type { ConnectionScope } from '../src/common/connection-id';
import { type BrokerCore, type BrokerCoreOptions, createBrokerCore } from './broker/broker';
import { DEFAULTS } from './broker/defaults';
import { createHttpApp, type HttpOptions } from './http/app';

export interface BrokerOptions extends BrokerCoreOptions, Omit<HttpOptions, 'limits' | 'allowLoopbackRedirects' | 'maxProxyRequestBytes' | 'connectionScope'> {
  maxProxyRequestBytes?: number;
  /** Each Dashboard user's own connection (default), or one per account. */
  connectionScope?: ConnectionScope;
  /** Only the local stack: its console's return URL is on loopback. */
  allowLoopbackRedirects?: boolean;
  /** Per-route limits, over the defaults. */
  limits?: Partial<HttpOptions['limits']>;
}

export interface Broker extends BrokerCore {
  app: express.Express;
}

export function createBroker(options: BrokerOptions): Broker {
  const core = createBrokerCore(options);
  const app = createHttpApp(core, {
    ...options,
    allowLoopbackRedirects: options.allowLoopbackRedirects ?? false,
    limits: { ...DEFAULTS.limits, ...options.limits },
    maxProxyRequestBytes: options.maxProxyRequestBytes ?? DEFAULTS.api.maxRequestBytes,
    connectionScope: options.connectionScope ?? 'user',
  });
  return { ...core, app };
}
