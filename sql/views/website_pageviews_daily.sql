-- Chart: website page views and entries per day (time series).
-- An entry is a page view of the first page a client reports for its session: path = entryPage
-- (visits, by visitor, are in website_visitors_daily).
-- Both metrics are counts, so Looker Studio may sum them over any date range.
CREATE OR REPLACE VIEW `{{dataset}}.website_pageviews_daily` AS
SELECT
  DATE(date) AS day,
  COUNT(*) AS pageviews,
  COUNTIF(path = entryPage) AS entries
FROM `{{dataset}}.website_events`
WHERE type = 'pageview'
GROUP BY 1;
