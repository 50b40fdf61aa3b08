import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

/** The browser tracker: public/tracker/script.js at the repository root, from both src/tracker and dist/tracker. */
export const TRACKER_FILE = resolve(__dirname, '../../public/tracker/script.js');

export interface TrackerScript {
  readonly body: Buffer;
  /** The first 16 hex digits of the body's SHA-256: the version in `/script.js?v=...` and the ETag. */
  readonly hash: string;
}

/** Reads the script once, on first request. */
@Injectable()
export class TrackerScripts {
  private loaded?: Promise<TrackerScript>;

  get(): Promise<TrackerScript> {
    this.loaded ??= readFile(TRACKER_FILE).then((body) => ({ body, hash: createHash('sha256').update(body).digest('hex').slice(0, 16) }));
    this.loaded.catch(() => (this.loaded = undefined));
    return this.loaded;
  }
}
