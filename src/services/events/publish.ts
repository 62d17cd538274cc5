// Publishing domain events is best effort: the store is the source of truth, so a topic that is down or slow costs
// a log line, never a failed request or job.
import type { Deps, DomainEvent } from '../../ports.js';

export async function publishEvent(deps: Deps, event: DomainEvent): Promise<void> {
  if (!deps.events) return;
  try {
    await deps.events.publish(event);
  } catch (err) {
    deps.logger.warn('domain event not published', {
      type: event.type,
      session_id: 'session_id' in event ? event.session_id : undefined,
      error: (err as Error).message,
    });
  }
}
