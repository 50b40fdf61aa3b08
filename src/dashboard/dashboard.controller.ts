import {
  BadRequestException,
  CallHandler,
  Controller,
  ExecutionContext,
  Get,
  Injectable,
  NestInterceptor,
  NotFoundException,
  Param,
  Query,
  Res,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { Request, Response } from 'express';
import { Observable } from 'rxjs';
import { DashboardAssets } from './dashboard-assets';
import { DashboardGuard } from './dashboard.guard';
import { InvalidRangeError, RangeInput } from './dashboard-range';
import { DashboardData, DashboardService } from './dashboard.service';

/** The page runs only its own files: no inline script or style, nothing from another origin. */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Headers of every dashboard answer that got past the guard: never stored by a shared (or any)
 * cache, never read by another origin (no CORS headers are ever set here, and CORP stops
 * cross-origin embedding), no MIME sniffing, no referrer.
 */
@Injectable()
export class DashboardHeaders implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const response = context.switchToHttp().getResponse<Response>();
    response.setHeader('Cache-Control', 'no-store');
    response.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    response.setHeader('X-Content-Type-Options', 'nosniff');
    response.setHeader('Referrer-Policy', 'no-referrer');
    return next.handle();
  }
}

/** GET /dashboard (the page), /dashboard/data (its figures, JSON) and the page's files. */
@Controller('dashboard')
@UseGuards(DashboardGuard)
@UseInterceptors(DashboardHeaders)
export class DashboardController {
  constructor(
    private readonly dashboard: DashboardService,
    private readonly assets: DashboardAssets,
  ) {}

  @Get()
  async page(@Res() res: Response): Promise<void> {
    res.setHeader('Content-Security-Policy', PAGE_CSP);
    await this.send(res, 'index.html');
  }

  /** ?range=today|7|30|90 (30 by default) [&end=YYYY-MM-DD, today UTC by default], or ?range=custom&start=...&end=... */
  @Get('data')
  data(@Query() query: Record<string, unknown>): Promise<DashboardData> {
    const input: RangeInput = { range: text(query.range), start: text(query.start), end: text(query.end) };
    try {
      return this.dashboard.load(this.dashboard.resolve(input));
    } catch (error) {
      if (error instanceof InvalidRangeError) throw new BadRequestException(error.message);
      throw error;
    }
  }

  @Get(':file')
  async file(@Param('file') name: string, @Res() res: Response): Promise<void> {
    if (name === 'index.html') throw notFound(res.req);
    await this.send(res, name);
  }

  private async send(res: Response, name: string): Promise<void> {
    const asset = this.assets.get(name);
    if (!asset) throw notFound(res.req);
    const { body, type } = await asset;
    res.type(type).send(body);
  }
}

/** Repeated query parameters (?range=7&range=30) are not a range. */
function text(value: unknown): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  throw new BadRequestException('each query parameter may be given once');
}

function notFound(req: Request): NotFoundException {
  return new NotFoundException(`Cannot ${req.method} ${req.path}`);
}
