// The dashboard page: reads the range from the URL, fetches /dashboard/data with it, and draws
// each chart (Chart.js, served by the API) with its numbers in a table. No framework, no build.
// Event data (paths, referrers) is only ever set as textContent, never as HTML.
'use strict';

(function () {
  const COLORS = ['#3867d6', '#20bf6b', '#fa8231', '#8854d0', '#eb3b5a', '#0fb9b1', '#f7b731', '#4b6584', '#a55eea', '#2d98da'];
  const params = new URLSearchParams(location.search);

  const WEBSITE = {
    totals: 'website_totals',
    kpis: [
      { column: 'pageviews', label: 'Page views' },
      { column: 'visits', label: 'Visits' },
      { column: 'downloads', label: 'Downloads' },
      // Unique visitors need a visitor estimate that the website events do not carry yet: a later issue.
      { placeholder: true, label: 'Unique visitors', text: 'Not measured yet: comes with a later release' },
    ],
    charts: [
      {
        title: 'Page views, visits and downloads per day',
        query: 'website_days',
        kind: 'days',
        series: ['pageviews', 'visits', 'downloads'],
      },
      { title: 'Top pages', query: 'website_pages', kind: 'bars', label: 'path', series: ['pageviews'] },
      { title: 'Entry pages', query: 'website_entries', kind: 'bars', label: 'entry_page', series: ['visits'] },
      { title: 'Referrers', query: 'website_referrers', kind: 'bars', label: 'referrer_host', series: ['pageviews'] },
      { title: 'Countries', query: 'website_countries', kind: 'bars', label: 'country', series: ['pageviews'] },
      { title: 'Downloads by OS', query: 'website_download_os', kind: 'bars', label: 'os', series: ['downloads'] },
      { title: 'Downloads by referrer', query: 'website_download_referrers', kind: 'bars', label: 'referrer_host', series: ['downloads'] },
    ],
  };
  const APP = {
    totals: 'app_totals',
    kpis: [
      { column: 'sessions', label: 'Sessions' },
      { column: 'active_installations', label: 'Active installations' },
      { column: 'new_installations', label: 'New installations' },
      { column: 'median_duration_seconds', label: 'Median session', format: duration },
      { column: 'avg_duration_seconds', label: 'Average session', format: duration },
      { column: 'avg_environments', label: 'Environments per session', format: (v) => decimal(v, 2) },
    ],
    charts: [
      {
        title: 'Sessions and installations per day',
        query: 'app_days',
        kind: 'days',
        series: ['sessions', 'active_installations', 'new_installations'],
      },
      {
        title: 'Session duration per day (seconds)',
        query: 'app_days',
        kind: 'days',
        series: ['median_duration_seconds', 'avg_duration_seconds'],
        gaps: true,
      },
      {
        title: 'Version adoption (installations per day)',
        query: 'app_version_days',
        kind: 'pivot',
        label: 'version',
        value: 'installations',
      },
      { title: 'Operating systems', query: 'app_os', kind: 'bars', label: 'os', series: ['sessions', 'installations'] },
      { title: 'Desktop and web', query: 'app_platforms', kind: 'bars', label: 'app', series: ['sessions', 'installations'] },
      { title: 'Countries', query: 'app_countries', kind: 'bars', label: 'country', series: ['sessions', 'installations'] },
      {
        title: 'Environments per session (10 = 10 or more)',
        query: 'app_environments',
        kind: 'bars',
        label: 'environments',
        series: ['sessions'],
      },
    ],
  };

  setUpForm();
  load();

  function setUpForm() {
    const form = document.getElementById('range-form');
    const { range, start, end } = form.elements;
    range.value = params.get('range') || '30';
    start.value = params.get('start') || '';
    end.value = params.get('end') || '';
    const showCustom = () => form.classList.toggle('is-custom', range.value === 'custom');
    showCustom();
    range.addEventListener('change', () => {
      showCustom();
      if (range.value !== 'custom') go();
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      go();
    });
    // The URL keeps the choice, so that a link shows the same range; an end day given in the
    // URL stays when another preset is picked.
    function go() {
      const next = new URLSearchParams({ range: range.value });
      if (range.value === 'custom') {
        next.set('start', start.value);
        next.set('end', end.value);
      } else if (params.get('end')) {
        next.set('end', params.get('end'));
      }
      location.assign(`/dashboard?${next}`);
    }
  }

  async function load() {
    const period = document.getElementById('period');
    const query = new URLSearchParams();
    for (const name of ['range', 'start', 'end']) if (params.get(name)) query.set(name, params.get(name));
    let data;
    try {
      const response = await fetch(`/dashboard/data?${query}`, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
      data = await response.json();
      if (!response.ok) throw new Error(Array.isArray(data.message) ? data.message.join(', ') : data.message);
    } catch (error) {
      period.textContent = `Could not load the figures: ${error.message}`;
      period.classList.add('error');
      return;
    }
    const { current, previous } = data.range;
    const form = document.getElementById('range-form');
    if (!form.elements.start.value) form.elements.start.value = current.start;
    if (!form.elements.end.value) form.elements.end.value = current.end;
    period.textContent =
      `${current.start} to ${current.end} (${plural(current.days, 'day')}, UTC), compared with ${previous.start} to ${previous.end}.` +
      (data.maxAgeSeconds > 0 ? ` Figures may be up to ${Math.round(data.maxAgeSeconds / 60)} minutes old.` : '');
    period.dataset.start = current.start;
    period.dataset.end = current.end;
    render(document.getElementById('website'), WEBSITE, data);
    render(document.getElementById('app'), APP, data);
    document.body.dataset.ready = 'true';
  }

  function render(section, spec, data) {
    const now = (data.results[spec.totals] || [])[0] || {};
    const before = (data.previous[spec.totals] || [])[0] || {};
    const kpis = section.querySelector('.kpis');
    for (const kpi of spec.kpis) kpis.append(kpiCard(spec.totals, kpi, now, before));
    const charts = section.querySelector('.charts');
    for (const chart of spec.charts) charts.append(chartCard(chart, data.results[chart.query] || [], data.range.current));
  }

  function kpiCard(query, kpi, now, before) {
    const card = el('div', 'kpi');
    card.append(el('span', 'label', kpi.label));
    if (kpi.placeholder) {
      card.classList.add('placeholder');
      card.append(el('span', 'value', kpi.text));
      return card;
    }
    card.dataset.metric = `${query}.${kpi.column}`;
    const format = kpi.format || integer;
    card.append(el('span', 'value', format(now[kpi.column])));
    const previous = el('span', 'previous', `previous period: ${format(before[kpi.column])}`);
    const change = percentChange(now[kpi.column], before[kpi.column]);
    if (change) previous.append(' ', el('span', change.className, change.text));
    card.append(previous);
    return card;
  }

  function percentChange(now, before) {
    if (typeof now !== 'number' || typeof before !== 'number' || before === 0 || now === before) return undefined;
    const pct = ((now - before) / before) * 100;
    return { className: pct > 0 ? 'up' : 'down', text: `${pct > 0 ? '▲' : '▼'} ${Math.abs(pct).toFixed(0)} %` };
  }

  function chartCard(spec, rows, range) {
    const card = el('article', 'card');
    card.append(el('h3', '', spec.title));
    const { labels, datasets, columns, tableRows } = shape(spec, rows, range);
    const box = el('div', 'chart');
    const canvas = document.createElement('canvas');
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', `${spec.title}: chart; the table below holds its numbers`);
    box.append(canvas);
    card.append(box);
    const details = el('details');
    details.append(el('summary', '', `Table (${plural(tableRows.length, 'row')})`));
    const wrap = el('div', 'table-wrap');
    wrap.append(table(spec, columns, tableRows));
    details.append(wrap);
    card.append(details);
    const horizontal = spec.kind === 'bars';
    new Chart(canvas, {
      type: spec.kind === 'days' ? 'line' : 'bar',
      data: { labels, datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: horizontal ? 'y' : 'x',
        spanGaps: false,
        interaction: { mode: 'index', intersect: false },
        plugins: { legend: { display: datasets.length > 1, position: 'bottom' } },
        scales: {
          // Counts have whole ticks; durations may not.
          x: {
            stacked: spec.kind === 'pivot',
            beginAtZero: true,
            ticks: { autoSkip: true, maxRotation: 0, precision: spec.gaps ? undefined : 0 },
          },
          y: { stacked: spec.kind === 'pivot', beginAtZero: true, ticks: { autoSkip: !horizontal, precision: spec.gaps ? undefined : 0 } },
        },
      },
    });
    return card;
  }

  /** What the chart draws and the table lists. Days without rows are shown as 0 (durations as no value). */
  function shape(spec, rows, range) {
    if (spec.kind === 'days') {
      const byDay = new Map(rows.map((r) => [r.day, r]));
      const labels = daysOf(range);
      const tableRows = labels.map((day) => {
        const row = byDay.get(day) || {};
        return [day, ...spec.series.map((s) => (row[s] === undefined ? (spec.gaps ? null : 0) : row[s]))];
      });
      const datasets = spec.series.map((s, i) =>
        line(
          s,
          tableRows.map((r) => r[i + 1]),
          COLORS[i],
        ),
      );
      return { labels, datasets, columns: ['day', ...spec.series], tableRows };
    }
    if (spec.kind === 'pivot') {
      const days = [...new Set(rows.map((r) => r.day))];
      const keys = [...new Set(rows.map((r) => r[spec.label]))].sort(versionOrder);
      const datasets = keys.map((key, i) => ({
        label: String(key),
        data: days.map((day) => rows.find((r) => r.day === day && r[spec.label] === key)?.[spec.value] ?? 0),
        backgroundColor: COLORS[i % COLORS.length],
      }));
      const columns = Object.keys(rows[0] || { day: 0, [spec.label]: 0, [spec.value]: 0 });
      return { labels: days, datasets, columns, tableRows: rows.map((r) => columns.map((c) => r[c])) };
    }
    const top = rows.slice(0, 10);
    const datasets = spec.series.map((s, i) => ({ label: words(s), data: top.map((r) => r[s]), backgroundColor: COLORS[i] }));
    const columns = [spec.label, ...spec.series];
    return { labels: top.map((r) => String(r[spec.label])), datasets, columns, tableRows: rows.map((r) => columns.map((c) => r[c])) };
  }

  function line(label, data, color) {
    return { label: words(label), data, borderColor: color, backgroundColor: color, pointRadius: data.length > 45 ? 1 : 3, tension: 0 };
  }

  function table(spec, columns, rows) {
    const t = el('table');
    t.dataset.query = spec.query;
    t.append(el('caption', '', spec.title));
    const head = el('tr');
    for (const c of columns) {
      const th = el('th', rows.some((r) => typeof r[columns.indexOf(c)] === 'number') ? 'num' : '', c);
      th.scope = 'col';
      head.append(th);
    }
    const thead = el('thead');
    thead.append(head);
    const tbody = el('tbody');
    for (const row of rows) {
      const tr = el('tr');
      for (const value of row) tr.append(el('td', typeof value === 'number' ? 'num' : '', cell(value)));
      tbody.append(tr);
    }
    t.append(thead, tbody);
    return t;
  }

  function daysOf(range) {
    const days = [];
    for (let t = Date.parse(`${range.start}T00:00:00Z`); t <= Date.parse(`${range.end}T00:00:00Z`); t += 86_400_000) {
      days.push(new Date(t).toISOString().slice(0, 10));
    }
    return days;
  }

  /** 2.10.0 after 2.9.0. */
  function versionOrder(a, b) {
    return String(a).localeCompare(String(b), 'en', { numeric: true });
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** Table cells: plain numbers (no thousands separators) so that they paste into a spreadsheet. */
  function cell(value) {
    if (value === null || value === undefined) return '—';
    return typeof value === 'number' ? String(Math.round(value * 100) / 100) : String(value);
  }

  function integer(value) {
    return typeof value === 'number' ? value.toLocaleString('en-US') : '—';
  }

  function decimal(value, digits) {
    return typeof value === 'number' ? String(Math.round(value * 10 ** digits) / 10 ** digits) : '—';
  }

  /** 45 s, 1 min 40 s, 2 h 5 min. */
  function duration(seconds) {
    if (typeof seconds !== 'number') return '—';
    if (seconds < 60) return `${decimal(seconds, 1)} s`;
    const s = Math.round(seconds);
    if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
    return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  }

  /** Column names as legend labels: median_duration_seconds as "median duration seconds". */
  function words(name) {
    return name.replace(/_/g, ' ');
  }

  function plural(n, word) {
    return `${n} ${word}${n === 1 ? '' : 's'}`;
  }
})();
