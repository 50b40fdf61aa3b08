-- Chart: session duration per day, median and average in seconds (time series).
-- A session whose endTime is before its startTime is left out of these figures (it still
-- counts in app_sessions_daily). The median and average are per day and cannot be summed:
-- over a range, chart SUM(total_duration_seconds) / SUM(timed_sessions) for the average.
CREATE OR REPLACE VIEW `{{dataset}}.app_session_duration_daily` AS
SELECT
  DATE(receivedAt) AS day,
  COUNTIF(endTime >= startTime) AS timed_sessions,
  SUM(IF(endTime >= startTime, TIMESTAMP_DIFF(endTime, startTime, MILLISECOND), NULL)) / 1000 AS total_duration_seconds,
  AVG(IF(endTime >= startTime, TIMESTAMP_DIFF(endTime, startTime, MILLISECOND), NULL)) / 1000 AS avg_duration_seconds,
  APPROX_QUANTILES(IF(endTime >= startTime, TIMESTAMP_DIFF(endTime, startTime, MILLISECOND), NULL), 2)[OFFSET(1)] / 1000 AS median_duration_seconds
FROM `{{dataset}}.telemetry`
GROUP BY 1;
