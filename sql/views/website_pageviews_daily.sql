-- Chart: website page views and visits per day (time series).
-- A visit is a page view of the first page of a tab session: path = entryPage.
-- Both metrics are counts, so Looker Studio may sum them over any date range.
CREATE OR REPLACE VIEW `{{dataset}}.website_pageviews_daily` AS
SELECT
  DATE(date) AS day,
  COUNT(*) AS pageviews,
  COUNTIF(path = entryPage) AS visits
FROM `{{dataset}}.website_events`
WHERE type = 'pageview'
GROUP BY 1;
