import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { createHmac, randomBytes } from 'node:crypto';
import { AppConfig } from '../config/app-config';

/** What a visitor id is derived from; none of it is ever stored or logged. */
export interface VisitorInput {
  /** The site's host (e.g. www.example.com), or '' when no request header names one. */
  readonly site: string;
  /** The client IP address (clientAddress). */
  readonly address: string;
  readonly userAgent: string;
}

/** 64 bits, as 16 hex digits. */
export const VISITOR_ID_HEX = 16;

/**
 * Cookieless visitor ids: HMAC-SHA256 keyed with the salt of the UTC day the event was received,
 * over site, address and User-Agent, truncated to 64 bits. The same browser gets the same id all
 * day; the next day's salt makes an unrelated id.
 *
 * The salt of a day is
 *  - with VISITOR_SECRET: HMAC-SHA256(VISITOR_SECRET, "visitor-salt:" + day), the same on every
 *    instance without any shared storage. Whoever holds the secret can derive any day's salt
 *    again: the README says how rotating the secret bounds that.
 *  - without it: 32 random bytes drawn in memory when the day's first event arrives, never
 *    written anywhere. Once the next day starts it is dropped, and nothing, in the warehouse or
 *    the process, can derive it again. Each process has its own, so this suits one instance.
 * Only the current day's salt is ever held.
 */
@Injectable()
export class VisitorIds implements OnModuleInit {
  private readonly logger = new Logger(VisitorIds.name);
  private current?: { day: string; salt: Buffer };

  constructor(private readonly config: AppConfig) {}

  onModuleInit(): void {
    if (this.config.production && !this.config.visitorSecret) {
      this.logger.warn({
        message:
          'VISITOR_SECRET is not set: each instance draws its own daily visitor salt, so with several instances a visitor counts once per instance',
        fix: 'set VISITOR_SECRET (32+ random characters, e.g. `openssl rand -base64 32`) in the environment of every instance',
      });
    }
  }

  /** The visitor id for an event received at `receivedAt`. */
  idFor(input: VisitorInput, receivedAt: Date): string {
    const salt = this.saltOf(receivedAt.toISOString().slice(0, 10));
    return (
      createHmac('sha256', salt)
        // JSON: the three fields cannot run into each other.
        .update(JSON.stringify([input.site, input.address, input.userAgent]))
        .digest('hex')
        .slice(0, VISITOR_ID_HEX)
    );
  }

  /** The UTC days whose salt this process holds: at most one, today's. */
  heldDays(): string[] {
    return this.current ? [this.current.day] : [];
  }

  private saltOf(day: string): Buffer {
    if (this.current?.day !== day) {
      // The previous day's salt is overwritten, not kept beside the new one.
      this.current?.salt.fill(0);
      const secret = this.config.visitorSecret;
      const salt = secret ? createHmac('sha256', secret).update(`visitor-salt:${day}`).digest() : randomBytes(32);
      this.current = { day, salt };
    }
    return this.current.salt;
  }
}
