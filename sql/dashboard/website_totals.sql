-- Website figures over the whole range, one row (run again over the previous period to compare).
-- Every query in sql/dashboard takes @start_date and @end_date (DATE, both included, UTC) and
-- filters on the partition column, so that BigQuery reads only the range's partitions.
-- A visit is a page view with path = entryPage, a download an event whose eventCategory is
-- win, mac or linux (any case), as in sql/views.
SELECT
  COUNTIF(type = 'pageview') AS pageviews,
  COUNTIF(type = 'pageview' AND path = entryPage) AS visits,
  COUNTIF(type = 'event' AND LOWER(eventCategory) IN ('win', 'mac', 'linux')) AS downloads
FROM `{{dataset}}.website_events`
WHERE DATE(date) BETWEEN @start_date AND @end_date
