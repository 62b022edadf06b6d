import type { ServerEvent, ServerEventBus } from '@modelcontextprotocol/server';
import type { ClusterBus } from '../bus/cluster-bus.js';

/** The cluster bus topic carrying 2026 change events (list_changed, resources/updated). */
export const SERVER_EVENTS_TOPIC = 'server-events';

/**
 * The SDK's ServerEventBus over the cluster bus: a `subscriptions/listen`
 * stream open on any worker receives change events published on every
 * worker. The SDK owns filtering and subscription-id stamping.
 */
export class ClusterServerEventBus implements ServerEventBus {
  constructor(private readonly bus: ClusterBus) {}

  publish(event: ServerEvent): void {
    this.bus.publish(SERVER_EVENTS_TOPIC, event);
  }

  subscribe(listener: (event: ServerEvent) => void): () => void {
    let active = true;
    const unsubscribe = this.bus.subscribe(SERVER_EVENTS_TOPIC, (message) => {
      if (active) listener(message as ServerEvent);
    });
    return () => {
      active = false;
      unsubscribe();
    };
  }
}
