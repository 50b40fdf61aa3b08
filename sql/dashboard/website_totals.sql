-- Website figures over the whole range, one row (run again over the previous period to compare).
-- Every query in sql/dashboard takes @start_date and @end_date (DATE, both included, UTC) and
-- filters on the partition column, so that BigQuery reads only the range's partitions.
-- A download is an event whose eventCategory is win, mac or linux (any case), as in sql/views.
-- Visitors, visits, bounce rate and views per visit are those of sql/views/website_visitors_daily.sql:
-- page views with a visitorId; a visit is a visitor's page views each at most 30 minutes after the
-- one before, a bounce a visit of one page view. Visitor ids change every UTC day, so a visitor
-- who comes back on another day of the range counts again.
WITH views AS (
  SELECT
    visitorId,
    date,
    IF(TIMESTAMP_DIFF(date, LAG(date) OVER (PARTITION BY visitorId ORDER BY date), MILLISECOND) <= 1800000, 0, 1) AS starts_visit
  FROM `{{dataset}}.website_events`
  WHERE DATE(date) BETWEEN @start_date AND @end_date
    AND type = 'pageview' AND visitorId IS NOT NULL
),
numbered AS (
  SELECT visitorId, SUM(starts_visit) OVER (PARTITION BY visitorId ORDER BY date) AS visit
  FROM views
),
visits AS (
  SELECT visitorId, COUNT(*) AS pageviews
  FROM numbered
  GROUP BY visitorId, visit
),
visit_totals AS (
  SELECT
    COUNT(DISTINCT visitorId) AS visitors,
    COUNT(*) AS visits,
    SAFE_DIVIDE(COUNTIF(pageviews = 1), COUNT(*)) AS bounce_rate,
    SAFE_DIVIDE(SUM(pageviews), COUNT(*)) AS views_per_visit
  FROM visits
),
event_totals AS (
  SELECT
    COUNTIF(type = 'pageview') AS pageviews,
    COUNTIF(type = 'event' AND LOWER(eventCategory) IN ('win', 'mac', 'linux')) AS downloads
  FROM `{{dataset}}.website_events`
  WHERE DATE(date) BETWEEN @start_date AND @end_date
)
SELECT
  e.pageviews,
  v.visitors,
  v.visits,
  v.bounce_rate,
  v.views_per_visit,
  e.downloads
FROM event_totals AS e
CROSS JOIN visit_totals AS v
