-- Chart: average environmentsCount per session, per day (time series).
-- avg_environments is per day; over a range use SUM(total_environments) / SUM(sessions).
CREATE OR REPLACE VIEW `{{dataset}}.app_environments_daily` AS
SELECT
  DATE(receivedAt) AS day,
  COUNT(*) AS sessions,
  SUM(environmentsCount) AS total_environments,
  AVG(environmentsCount) AS avg_environments
FROM `{{dataset}}.telemetry`
GROUP BY 1;
