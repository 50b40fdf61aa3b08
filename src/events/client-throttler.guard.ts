import { ExecutionContext, HttpException, HttpStatus, Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail } from '@nestjs/throttler';

/**
 * @nestjs/throttler's guard (its in-memory store, sliding window and Retry-After header),
 * answering 429 in the same JSON shape as every other refusal of an event.
 */
@Injectable()
export class ClientThrottlerGuard extends ThrottlerGuard {
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
