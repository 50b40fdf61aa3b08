-- Chart: session duration by version, median and average in seconds (table or bars, day
-- as a filter). Same rules as app_session_duration_daily: sessions ending before they start
-- are left out, and median/average are per day and version, not to be summed.
CREATE OR REPLACE VIEW `{{dataset}}.app_session_duration_by_version` AS
SELECT
  DATE(receivedAt) AS day,
  version,
  COUNTIF(endTime >= startTime) AS timed_sessions,
  SUM(IF(endTime >= startTime, TIMESTAMP_DIFF(endTime, startTime, MILLISECOND), NULL)) / 1000 AS total_duration_seconds,
  AVG(IF(endTime >= startTime, TIMESTAMP_DIFF(endTime, startTime, MILLISECOND), NULL)) / 1000 AS avg_duration_seconds,
  APPROX_QUANTILES(IF(endTime >= startTime, TIMESTAMP_DIFF(endTime, startTime, MILLISECOND), NULL), 2)[OFFSET(1)] / 1000 AS median_duration_seconds
FROM `{{dataset}}.telemetry`
GROUP BY 1, 2;
