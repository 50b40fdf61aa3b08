-- Chart: active installations per day (time series): distinct installationId that day.
-- Not additive: an installation active on two days counts on both, so use day as the
-- dimension (a sum over a range counts installation-days, not installations).
CREATE OR REPLACE VIEW `{{dataset}}.app_active_installations_daily` AS
SELECT
  DATE(receivedAt) AS day,
  COUNT(DISTINCT installationId) AS active_installations
FROM `{{dataset}}.telemetry`
GROUP BY 1;
