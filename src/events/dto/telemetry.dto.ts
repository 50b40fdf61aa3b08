import { IsBoolean, IsIn, IsInt, IsISO31661Alpha2, IsOptional, IsString, IsUUID, Length, Max, Min } from 'class-validator';
import { IsIsoDateTime, IsSafeText, NormalizeCountry } from './validators';

/** One session of the desktop or web app, as the app sends it. */
export class TelemetryDto {
  @IsUUID()
  installationId: string;

  /** Both must exist on the calendar and fall within 0001-01-01..9999-12-31 UTC (what BigQuery's TIMESTAMP holds).
   * endTime may be earlier than startTime (a real client does this after idling); it is stored as sent. */
  @IsIsoDateTime()
  startTime: string;

  @IsIsoDateTime()
  endTime: string;

  @IsBoolean()
  firstSession: boolean;

  @IsString()
  @Length(1, 64)
  @IsSafeText(64)
  version: string;

  /** darwin, win32, linux, unknown today; new values are accepted. */
  @IsString()
  @Length(1, 32)
  @IsSafeText(32)
  os: string;

  @IsInt()
  @Min(0)
  @Max(1_000_000)
  environmentsCount: number;

  /** Older clients send it, newer ones don't; the server then uses X-Appengine-Country. */
  @IsOptional()
  @NormalizeCountry()
  @IsISO31661Alpha2()
  country?: string | null;

  @IsOptional()
  @IsIn(['desktop', 'web'])
  app?: 'desktop' | 'web' | null;

  @IsOptional()
  @IsBoolean()
  auth?: boolean | null;

  @IsOptional()
  @IsBoolean()
  paid?: boolean | null;
}
