-- One row per page view or event on the website. date is the server's receive time.
CREATE TABLE IF NOT EXISTS `{{dataset}}.website_events` (
  type STRING NOT NULL,
  eventName STRING,
  eventCategory STRING,
  date TIMESTAMP NOT NULL,
  path STRING NOT NULL,
  entryPage STRING NOT NULL,
  referrer STRING NOT NULL,
  country STRING
)
PARTITION BY DATE(date)
CLUSTER BY type, path
OPTIONS (description = 'Website page views and events, one row each');
