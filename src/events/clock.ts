import { Injectable } from '@nestjs/common';

/** The time events are stamped with (and whose UTC day picks the visitor salt); tests provide their own. */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
}
