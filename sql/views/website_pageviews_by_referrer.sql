-- Chart: page views by referrer host (table).
-- referrer is stored as host/path or 'direct'; the host is the part before the first '/',
-- and 'direct' (or an empty referrer) stays 'direct'.
CREATE OR REPLACE VIEW `{{dataset}}.website_pageviews_by_referrer` AS
SELECT
  DATE(date) AS day,
  IFNULL(NULLIF(SPLIT(referrer, '/')[SAFE_OFFSET(0)], ''), 'direct') AS referrer_host,
  COUNT(*) AS pageviews
FROM `{{dataset}}.website_events`
WHERE type = 'pageview'
GROUP BY 1, 2;
