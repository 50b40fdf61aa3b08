-- Chart: unique visitors, visits, bounce rate and views per visit per day (time series).
-- Counts page views with a visitorId (rows from before visitor ids, bots and requests without a
-- client address have none). A visit is a visitor's page views each at most 30 minutes after the
-- one before; a bounce is a visit of a single page view. Visitor ids change every UTC day, so
-- visitors, visits, bounces and visit_pageviews may be summed over days (a visitor who comes back
-- another day counts again); over a range, bounce rate is SUM(bounces) / SUM(visits) and views per
-- visit SUM(visit_pageviews) / SUM(visits), never an average of the daily ratios.
CREATE OR REPLACE VIEW `{{dataset}}.website_visitors_daily` AS
WITH views AS (
  SELECT
    visitorId,
    date,
    IF(TIMESTAMP_DIFF(date, LAG(date) OVER (PARTITION BY visitorId ORDER BY date), MILLISECOND) <= 1800000, 0, 1) AS starts_visit
  FROM `{{dataset}}.website_events`
  WHERE type = 'pageview' AND visitorId IS NOT NULL
),
numbered AS (
  SELECT visitorId, date, SUM(starts_visit) OVER (PARTITION BY visitorId ORDER BY date) AS visit
  FROM views
),
visits AS (
  SELECT visitorId, MIN(date) AS started, COUNT(*) AS pageviews
  FROM numbered
  GROUP BY visitorId, visit
)
SELECT
  DATE(started) AS day,
  COUNT(DISTINCT visitorId) AS visitors,
  COUNT(*) AS visits,
  COUNTIF(pageviews = 1) AS bounces,
  SUM(pageviews) AS visit_pageviews,
  SAFE_DIVIDE(COUNTIF(pageviews = 1), COUNT(*)) AS bounce_rate,
  SAFE_DIVIDE(SUM(pageviews), COUNT(*)) AS views_per_visit
FROM visits
GROUP BY 1;
