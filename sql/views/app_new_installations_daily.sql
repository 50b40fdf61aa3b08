-- Chart: new installations per day (time series): sessions flagged firstSession.
-- Additive: each installation has one first session.
CREATE OR REPLACE VIEW `{{dataset}}.app_new_installations_daily` AS
SELECT
  DATE(receivedAt) AS day,
  COUNTIF(firstSession) AS new_installations
FROM `{{dataset}}.telemetry`
GROUP BY 1;
