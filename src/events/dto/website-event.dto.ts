import { IsIn, IsOptional, IsString, Length, Matches, ValidateIf } from 'class-validator';
import { IsReferrer } from './validators';

const PATH = /^\//;

/** One page view or event from the website, as its script sends it. */
export class WebsiteEventDto {
  @IsIn(['pageview', 'event'])
  type: 'pageview' | 'event';

  /** Page views send null; a download sends "download". Required for events. */
  @ValidateIf((o: WebsiteEventDto) => o.type === 'event' || (o.eventName !== null && o.eventName !== undefined))
  @IsString()
  @Length(1, 128)
  eventName?: string | null;

  /** For downloads: win, mac or linux. */
  @IsOptional()
  @IsString()
  @Length(1, 128)
  eventCategory?: string | null;

  @IsString()
  @Length(1, 2048)
  @Matches(PATH, { message: 'path must start with /' })
  path: string;

  /** The first page of the tab's session; defaults to path. */
  @IsOptional()
  @IsString()
  @Length(1, 2048)
  @Matches(PATH, { message: 'entryPage must start with /' })
  entryPage?: string | null;

  /** A full URL, or "direct". Missing or empty (document.referrer is "" for direct visits) means direct. */
  @ValidateIf((o: WebsiteEventDto) => o.referrer !== undefined && o.referrer !== null && o.referrer !== '')
  @IsString()
  @Length(1, 2048)
  @IsReferrer()
  referrer?: string | null;
}
