-- Chart: page views by country (geo map, country as ISO 3166-1 alpha-2). Null is 'Unknown'.
CREATE OR REPLACE VIEW `{{dataset}}.website_pageviews_by_country` AS
SELECT
  DATE(date) AS day,
  IFNULL(country, 'Unknown') AS country,
  COUNT(*) AS pageviews
FROM `{{dataset}}.website_events`
WHERE type = 'pageview'
GROUP BY 1, 2;
