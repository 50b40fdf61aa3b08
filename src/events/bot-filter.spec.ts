import { isbot } from 'isbot';
import { isBot, MAX_VERDICTS } from './bot-filter';

const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const BOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

describe('isBot', () => {
  it('says what isbot says, the first time and every time after', () => {
    for (let i = 0; i < 3; i++) {
      expect(isBot(BROWSER)).toBe(false);
      expect(isBot(BOT)).toBe(true);
      expect(isBot('curl/8.5.0')).toBe(true);
    }
  });

  it('stays right past the number of verdicts it keeps', () => {
    for (let i = 0; i < MAX_VERDICTS * 2.5; i++) {
      const userAgent = i % 2 ? `${BROWSER} Build/${i}` : `Googlebot/${i}`;
      expect(isBot(userAgent)).toBe(isbot(userAgent));
    }
    expect(isBot(BROWSER)).toBe(false);
    expect(isBot(BOT)).toBe(true);
  });
});
