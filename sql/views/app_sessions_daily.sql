-- Chart: app sessions per day (time series). Every row is a session, whatever its times.
CREATE OR REPLACE VIEW `{{dataset}}.app_sessions_daily` AS
SELECT
  DATE(receivedAt) AS day,
  COUNT(*) AS sessions
FROM `{{dataset}}.telemetry`
GROUP BY 1;
