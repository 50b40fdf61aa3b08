-- Chart: entry pages (table): visits by the page they started on.
CREATE OR REPLACE VIEW `{{dataset}}.website_entry_pages` AS
SELECT
  DATE(date) AS day,
  entryPage AS entry_page,
  COUNT(*) AS visits
FROM `{{dataset}}.website_events`
WHERE type = 'pageview' AND path = entryPage
GROUP BY 1, 2;
