-- App figures over the whole range, one row (run again over the previous period to compare).
-- active_installations is distinct over the range (an installation seen on two days counts
-- once), and the median is over the range's sessions: neither can be made from daily rows.
-- Sessions that end before they start count as sessions but not in the durations.
SELECT
  COUNT(*) AS sessions,
  COUNT(DISTINCT installationId) AS active_installations,
  COUNTIF(firstSession) AS new_installations,
  COUNTIF(endTime >= startTime) AS timed_sessions,
  AVG(IF(endTime >= startTime, TIMESTAMP_DIFF(endTime, startTime, MILLISECOND), NULL)) / 1000 AS avg_duration_seconds,
  APPROX_QUANTILES(IF(endTime >= startTime, TIMESTAMP_DIFF(endTime, startTime, MILLISECOND), NULL), 2)[OFFSET(1)] / 1000 AS median_duration_seconds,
  AVG(environmentsCount) AS avg_environments
FROM `{{dataset}}.telemetry`
WHERE DATE(receivedAt) BETWEEN @start_date AND @end_date
