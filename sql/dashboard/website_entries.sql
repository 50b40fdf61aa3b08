-- Entry pages over the range: visits by the page they started on.
SELECT
  entryPage AS entry_page,
  COUNT(*) AS visits
FROM `{{dataset}}.website_events`
WHERE DATE(date) BETWEEN @start_date AND @end_date
  AND type = 'pageview' AND path = entryPage
GROUP BY 1
ORDER BY 2 DESC, 1
LIMIT 20
