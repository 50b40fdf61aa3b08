-- Chart: sessions by country (geo map, country as ISO 3166-1 alpha-2). Null is 'Unknown'.
CREATE OR REPLACE VIEW `{{dataset}}.app_sessions_by_country` AS
SELECT
  DATE(receivedAt) AS day,
  IFNULL(country, 'Unknown') AS country,
  COUNT(*) AS sessions
FROM `{{dataset}}.telemetry`
GROUP BY 1, 2;
