-- Chart: page views by page (table, sorted by pageviews).
CREATE OR REPLACE VIEW `{{dataset}}.website_pageviews_by_page` AS
SELECT
  DATE(date) AS day,
  path,
  COUNT(*) AS pageviews
FROM `{{dataset}}.website_events`
WHERE type = 'pageview'
GROUP BY 1, 2;
