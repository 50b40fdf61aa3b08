-- One row per page view or event on the website. date is the server's receive time.
-- visitorId: 16 hex digits, a keyed hash of the day's salt, site, IP address and User-Agent
-- (none of which is stored); NULL for bots, rows from before it existed, or no client address.
-- utm*: the campaign parameters of the page URL; no other query parameter is kept.
CREATE TABLE IF NOT EXISTS `{{dataset}}.website_events` (
  type STRING NOT NULL,
  eventName STRING,
  eventCategory STRING,
  date TIMESTAMP NOT NULL,
  path STRING NOT NULL,
  entryPage STRING NOT NULL,
  referrer STRING NOT NULL,
  country STRING,
  visitorId STRING,
  utmSource STRING,
  utmMedium STRING,
  utmCampaign STRING
)
PARTITION BY DATE(date)
CLUSTER BY type, path
OPTIONS (description = 'Website page views and events, one row each');
