import { IsIn, IsOptional, IsString, Length, Matches, ValidateIf } from 'class-validator';
import { IsReferrer, IsSafeText } from './validators';
import { REFERRER_MAX_BYTES } from '../../normalize/referrer';

const PATH = /^\//;
/** location.pathname is percent-encoded ASCII in every browser: 2 KB is far beyond any real page. */
const PATH_MAX_BYTES = 2048;

/** One page view or event from the website, as its script sends it. */
export class WebsiteEventDto {
  @IsIn(['pageview', 'event'])
  type: 'pageview' | 'event';

  /** Page views send null; a download sends "download". Required for events. */
  @ValidateIf((o: WebsiteEventDto) => o.type === 'event' || (o.eventName !== null && o.eventName !== undefined))
  @IsString()
  @Length(1, 128)
  @IsSafeText(128)
  eventName?: string | null;

  /** For downloads: win, mac or linux. */
  @IsOptional()
  @IsString()
  @Length(1, 128)
  @IsSafeText(128)
  eventCategory?: string | null;

  @IsString()
  @Length(1, PATH_MAX_BYTES)
  @Matches(PATH, { message: 'path must start with /' })
  @IsSafeText(PATH_MAX_BYTES, { refuseFormulas: false }) // starts with "/": never a formula
  path: string;

  /** The first page of the tab's session; defaults to path. */
  @IsOptional()
  @IsString()
  @Length(1, PATH_MAX_BYTES)
  @Matches(PATH, { message: 'entryPage must start with /' })
  @IsSafeText(PATH_MAX_BYTES, { refuseFormulas: false })
  entryPage?: string | null;

  /** A full URL, or "direct". Missing or empty (document.referrer is "" for direct visits) means direct. */
  @ValidateIf((o: WebsiteEventDto) => o.referrer !== undefined && o.referrer !== null && o.referrer !== '')
  @IsString()
  @Length(1, REFERRER_MAX_BYTES)
  @IsSafeText(REFERRER_MAX_BYTES, { refuseFormulas: false }) // a URL; its stored form is checked by IsReferrer
  @IsReferrer()
  referrer?: string | null;
}
