import { CanActivate, ExecutionContext, Injectable, NotFoundException, UnauthorizedException } from '@nestjs/common';
import { Request, Response } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../config/app-config';

/**
 * Every /dashboard route. Outside production: open, no setup. In production: absent (the same
 * 404 as a route that does not exist, no header added) unless DASHBOARD_PASSWORD is set, and
 * then HTTP Basic with that password (any user name): the browser asks for it once and sends
 * it with the page's script, style and data requests. HTTP Basic rather than ADMIN_TOKEN's
 * Bearer header, because a person opens this page in a browser, which can prompt for Basic
 * credentials but never sends a Bearer token on its own; and a separate secret, so that
 * readers of the dashboard need not hold the operator's token.
 */
@Injectable()
export class DashboardGuard implements CanActivate {
  constructor(private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request>();
    if (!this.config.production) return true;
    const password = this.config.dashboardPassword;
    if (!password) throw new NotFoundException(`Cannot ${request.method} ${request.path}`);
    if (holdsPassword(request.headers.authorization, password)) return true;
    const response = context.switchToHttp().getResponse<Response>();
    response.setHeader('WWW-Authenticate', 'Basic realm="dashboard", charset="UTF-8"');
    response.setHeader('Cache-Control', 'no-store');
    throw new UnauthorizedException();
  }
}

/** Constant-time: both sides are hashed first, so neither the password nor its length leaks through timing. */
export function holdsPassword(authorization: string | undefined, password: string): boolean {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(authorization ?? '');
  const decoded = match ? Buffer.from(match[1], 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  const given = colon >= 0 ? decoded.slice(colon + 1) : '';
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(`:${given}`), digest(`:${password}`)) && colon >= 0;
}
