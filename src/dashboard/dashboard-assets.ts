import { Injectable } from '@nestjs/common';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/** The page's files: public/dashboard at the repository root, from both src/dashboard and dist/dashboard. */
export const PUBLIC_DIR = resolve(__dirname, '../../public/dashboard');

export interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

/** Each file the page loads, by its URL name. The chart library comes from node_modules: no CDN, works offline. */
const FILES: Record<string, { path: () => string; type: string }> = {
  'index.html': { path: () => join(PUBLIC_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  'dashboard.js': { path: () => join(PUBLIC_DIR, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
  'dashboard.css': { path: () => join(PUBLIC_DIR, 'dashboard.css'), type: 'text/css; charset=utf-8' },
  'favicon.svg': { path: () => join(PUBLIC_DIR, 'favicon.svg'), type: 'image/svg+xml' },
  // chart.js's exports map allows only its entry points: the UMD build sits beside chart.cjs.
  'chart.umd.min.js': {
    path: () => join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
};

export const ASSET_NAMES = Object.keys(FILES).filter((name) => name !== 'index.html');

/** Reads each file once, on first request. */
@Injectable()
export class DashboardAssets {
  private readonly loaded = new Map<string, Promise<Asset>>();

  /** undefined for a name that is not one of the page's files. */
  get(name: string): Promise<Asset> | undefined {
    const file = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
    if (!file) return undefined;
    let asset = this.loaded.get(name);
    if (!asset) {
      asset = readFile(file.path()).then((body) => ({ body, type: file.type }));
      asset.catch(() => this.loaded.delete(name));
      this.loaded.set(name, asset);
    }
    return asset;
  }
}
