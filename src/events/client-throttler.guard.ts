import { ExecutionContext, HttpException, HttpStatus, Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail } from '@nestjs/throttler';
import { hash } from 'node:crypto';

/**
 * @nestjs/throttler's guard (its sliding window and Retry-After header, on our SlidingWindowStore),
 * answering 429 in the same JSON shape as every other refusal of an event.
 */
@Injectable()
export class ClientThrottlerGuard extends ThrottlerGuard {
  /**
   * The library's own key, a SHA-256 of the route and the client's address (so that no address is
   * held in clear), with Node's one-shot hash: a third of createHash()'s cost for a short string.
   */
  protected generateKey(context: ExecutionContext, tracker: string, throttlerName: string): string {
    return hash('sha256', `${context.getClass().name}-${context.getHandler().name}-${throttlerName}-${tracker}`);
  }

  protected throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    throw new HttpException(
      {
        statusCode: HttpStatus.TOO_MANY_REQUESTS,
        error: 'Too Many Requests',
        message: `More than ${detail.limit} events from this address in ${detail.ttl / 1000} s: retry after ${detail.timeToBlockExpire} s`,
        fields: [],
      },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}
