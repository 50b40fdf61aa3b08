-- Chart: entry pages (table): entries (page views with path = entryPage) by page.
CREATE OR REPLACE VIEW `{{dataset}}.website_entry_pages` AS
SELECT
  DATE(date) AS day,
  entryPage AS entry_page,
  COUNT(*) AS entries
FROM `{{dataset}}.website_events`
WHERE type = 'pageview' AND path = entryPage
GROUP BY 1, 2;
