import {
  applyDecorators,
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  Injectable,
  NotFoundException,
  SetMetadata,
  UnauthorizedException,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Request } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../config/app-config';

const ACCESS = Symbol('ADMIN_ACCESS');
const IS_ADMIN = Symbol('IS_ADMIN');
type Access = 'required' | 'optional';
type AdminRequest = Request & { [IS_ADMIN]?: boolean };

/**
 * Operator routes: open outside production; in production only with `Authorization: Bearer
 * <ADMIN_TOKEN>`, and not there at all (404) when no ADMIN_TOKEN is configured.
 */
export const AdminOnly = () => applyDecorators(SetMetadata(ACCESS, 'required' satisfies Access), UseGuards(AdminGuard));

/** Public routes that show more to an ADMIN_TOKEN holder, in any environment; the handler asks @IsAdmin(). */
export const AdminOptional = () => applyDecorators(SetMetadata(ACCESS, 'optional' satisfies Access), UseGuards(AdminGuard));

export const IsAdmin = createParamDecorator((_: unknown, context: ExecutionContext) => {
  return context.switchToHttp().getRequest<AdminRequest>()[IS_ADMIN] === true;
});

@Injectable()
export class AdminGuard implements CanActivate {
  constructor(
    private readonly config: AppConfig,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<AdminRequest>();
    const access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS, [context.getHandler(), context.getClass()]);
    request[IS_ADMIN] = this.holdsToken(request.headers.authorization);
    if (access === 'optional' || !this.config.production) return true;
    // The same answer as a route that does not exist.
    if (!this.config.adminToken) throw new NotFoundException(`Cannot ${request.method} ${request.path}`);
    if (!request[IS_ADMIN]) throw new UnauthorizedException();
    return true;
  }

  /** Constant-time: hashing first makes both sides the same length, so not even the token's length leaks. */
  private holdsToken(authorization: string | undefined): boolean {
    const token = this.config.adminToken;
    if (!token || !authorization) return false;
    const digest = (value: string) => createHash('sha256').update(value).digest();
    return timingSafeEqual(digest(authorization), digest(`Bearer ${token}`));
  }
}
