-- Website per day of the range: page views, unique visitors, visits, bounce rate, views per visit
-- and downloads (days without events are absent). Visits as in website_totals.sql.
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
  SELECT visitorId, date, SUM(starts_visit) OVER (PARTITION BY visitorId ORDER BY date) AS visit
  FROM views
),
visits AS (
  SELECT visitorId, MIN(date) AS started, COUNT(*) AS pageviews
  FROM numbered
  GROUP BY visitorId, visit
),
visit_days AS (
  SELECT
    DATE(started) AS day,
    COUNT(DISTINCT visitorId) AS visitors,
    COUNT(*) AS visits,
    SAFE_DIVIDE(COUNTIF(pageviews = 1), COUNT(*)) AS bounce_rate,
    SAFE_DIVIDE(SUM(pageviews), COUNT(*)) AS views_per_visit
  FROM visits
  GROUP BY 1
),
event_days AS (
  SELECT
    DATE(date) AS day,
    COUNTIF(type = 'pageview') AS pageviews,
    COUNTIF(type = 'event' AND LOWER(eventCategory) IN ('win', 'mac', 'linux')) AS downloads
  FROM `{{dataset}}.website_events`
  WHERE DATE(date) BETWEEN @start_date AND @end_date
  GROUP BY 1
)
SELECT
  e.day,
  e.pageviews,
  IFNULL(v.visitors, 0) AS visitors,
  IFNULL(v.visits, 0) AS visits,
  v.bounce_rate,
  v.views_per_visit,
  e.downloads
FROM event_days AS e
LEFT JOIN visit_days AS v ON v.day = e.day
ORDER BY 1
