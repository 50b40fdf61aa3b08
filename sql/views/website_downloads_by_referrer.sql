-- Chart: downloads by referrer host (table). Downloads as in website_downloads_daily.
CREATE OR REPLACE VIEW `{{dataset}}.website_downloads_by_referrer` AS
SELECT
  DATE(date) AS day,
  IFNULL(NULLIF(SPLIT(referrer, '/')[SAFE_OFFSET(0)], ''), 'direct') AS referrer_host,
  COUNT(*) AS downloads
FROM `{{dataset}}.website_events`
WHERE type = 'event' AND LOWER(eventCategory) IN ('win', 'mac', 'linux')
GROUP BY 1, 2;
