import { z } from 'zod';
import { HephError } from '../../core/errors.js';
import { TOPICS } from '../../daemon/events.js';
import { defineMethod, EVERYWHERE } from '../registry.js';
import * as R from './results.js';
import type { Services } from './context.js';

export function eventMethods(s: Services) {
  return [
    defineMethod({
      name: 'events.subscribe',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary: `Streams change notifications on this connection (topics: ${TOPICS.join(', ')}).`,
      params: z.strictObject({ topics: z.array(z.enum(TOPICS)).min(1).optional() }),
      result: R.Subscribed,
      handler: (p, ctx) => ({
        subscription: s.events.subscribe(
          ctx.connectionId,
          p.topics,
          (m, params) => ctx.notify(m, params),
          ctx.signal,
        ),
      }),
    }),
    defineMethod({
      name: 'events.unsubscribe',
      role: 'viewer',
      surfaces: EVERYWHERE,
      summary: 'Ends a subscription made on this connection.',
      params: z.strictObject({ subscription: z.string().min(1).max(64) }),
      result: R.Unsubscribed,
      handler: (p, ctx) => {
        if (!s.events.unsubscribe(ctx.connectionId, p.subscription)) {
          throw new HephError('not_found', `no subscription ${p.subscription} on this connection`, {
            subscription: p.subscription,
          });
        }
        return { unsubscribed: true };
      },
    }),
  ];
}
