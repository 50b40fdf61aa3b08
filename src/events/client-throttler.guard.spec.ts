import { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ThrottlerGuard } from '@nestjs/throttler';
import { ClientThrottlerGuard } from './client-throttler.guard';
import { EventsController } from './events.controller';
import { SlidingWindowStore } from './sliding-window-store';

describe('ClientThrottlerGuard', () => {
  it('keys each route and address exactly as @nestjs/throttler does: hashed, never the address itself', () => {
    const guard = new ClientThrottlerGuard({ throttlers: [] }, new SlidingWindowStore(), new Reflector());
    type KeyOf = (context: ExecutionContext, tracker: string, name: string) => string;
    const ours = (guard as unknown as { generateKey: KeyOf }).generateKey.bind(guard);
    const library = (ThrottlerGuard.prototype as unknown as { generateKey: KeyOf }).generateKey.bind(guard);
    for (const name of ['telemetry', 'website'] as const) {
      const context = { getClass: () => EventsController, getHandler: () => ({ name }) } as unknown as ExecutionContext;
      for (const tracker of ['203.0.113.7', '2001:db8:1:2::/64']) {
        expect(ours(context, tracker, 'default')).toBe(library(context, tracker, 'default'));
        expect(ours(context, tracker, 'default')).toMatch(/^[0-9a-f]{64}$/);
      }
    }
  });
});
