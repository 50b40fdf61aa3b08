-- Chart: downloads per day by OS (stacked time series or stacked bars).
-- A download is an event whose eventCategory is win, mac or linux (any case).
CREATE OR REPLACE VIEW `{{dataset}}.website_downloads_daily` AS
SELECT
  DATE(date) AS day,
  LOWER(eventCategory) AS os,
  COUNT(*) AS downloads
FROM `{{dataset}}.website_events`
WHERE type = 'event' AND LOWER(eventCategory) IN ('win', 'mac', 'linux')
GROUP BY 1, 2;
