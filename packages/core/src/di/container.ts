/**
 * The tsyringe container of one operator process (or one test). Core's services are registered
 * by the explicit tokens in tokens.ts, so injection works under any compiler and a test replaces a
 * service with one line. Other parts of core add their services as modules:
 *
 *   const container = createContainer({ config, kubeConfig, logger, modules: [controllerModule] });
 *
 * Backends never see the container; they get a plain BackendContext.
 */
import 'reflect-metadata';
import type { KubeConnection } from '../kube/connection.js';
import { container as rootContainer, type DependencyContainer, type InjectionToken } from 'tsyringe';
import { identityConnectionResolver, type ConnectionResolver } from '../backend/connectionResolver.js';
import type { BackendRegistry } from '../backend/registry.js';
import type { OperatorConfig } from '../config/schema.js';
import { passwordGeneratorFor, type PasswordGenerator } from '../credentials/password.js';
import type { Logger } from '../observability/logger.js';
import { LoadedBackendRegistry } from '../plugins/registry.js';
import { systemClock, Tokens, type Clock } from '../tokens.js';

/** Registers more services (or replaces some); runs after core's defaults. */
export type ContainerModule = (container: DependencyContainer) => void;

export interface CreateContainerOptions {
  config: OperatorConfig;
  /** client-node's KubeConfig or core's LiteKubeConfig. */
  kubeConfig: KubeConnection;
  logger: Logger;
  /** The loaded backends; default: an empty registry (nothing can be provisioned). */
  registry?: BackendRegistry;
  clock?: Clock;
  connectionResolver?: ConnectionResolver;
  passwordGenerator?: PasswordGenerator;
  /** Service modules of other parts of core (controllers, reconcilers, metrics, events). */
  modules?: readonly ContainerModule[];
  /** Plain values by token, applied last (tests: `[[Tokens.Clock, fakeClock]]`). */
  overrides?: Iterable<readonly [InjectionToken<unknown>, unknown]>;
  /** Parent container; each call makes a child, so tests never leak registrations. */
  parent?: DependencyContainer;
}

export function createContainer(opts: CreateContainerOptions): DependencyContainer {
  const c = (opts.parent ?? rootContainer).createChildContainer();
  const { config } = opts;
  c.register(Tokens.Config, { useValue: config });
  c.register(Tokens.Logger, { useValue: opts.logger });
  c.register(Tokens.KubeConfig, { useValue: opts.kubeConfig });
  c.register(Tokens.BackendRegistry, { useValue: opts.registry ?? new LoadedBackendRegistry(config.backend, config.allowed_backends, new Map()) });
  c.register(Tokens.Clock, { useValue: opts.clock ?? systemClock });
  c.register(Tokens.ConnectionResolver, { useValue: opts.connectionResolver ?? identityConnectionResolver });
  c.register(Tokens.PasswordGenerator, { useValue: opts.passwordGenerator ?? passwordGeneratorFor(config.security) });
  c.register(Tokens.OperatorNamespace, { useValue: config.operator.namespace });
  for (const module of opts.modules ?? []) module(c);
  for (const [token, value] of opts.overrides ?? []) c.register(token, { useValue: value });
  return c;
}
