-- Chart: sessions and installations by version, with each version's share of the day
-- (100% stacked bars, day on the axis, version as the breakdown).
-- sessions is additive; installations (distinct per day) and the *_share columns are not:
-- they are right per day, so keep day as the dimension. Over a range, chart sessions with
-- "percent of total" instead of summing shares.
CREATE OR REPLACE VIEW `{{dataset}}.app_versions_daily` AS
SELECT
  day,
  version,
  sessions,
  installations,
  SAFE_DIVIDE(sessions, SUM(sessions) OVER (PARTITION BY day)) AS sessions_share,
  SAFE_DIVIDE(installations, day_installations) AS installations_share
FROM (
  SELECT
    DATE(receivedAt) AS day,
    version,
    COUNT(*) AS sessions,
    COUNT(DISTINCT installationId) AS installations
  FROM `{{dataset}}.telemetry`
  GROUP BY 1, 2
)
JOIN (
  -- An installation that ran two versions in a day counts once in the day's total.
  SELECT DATE(receivedAt) AS day, COUNT(DISTINCT installationId) AS day_installations
  FROM `{{dataset}}.telemetry`
  GROUP BY 1
) USING (day);
