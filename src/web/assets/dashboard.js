// The HYPER-RT dashboard: one EventSource (/events), one JSON message per TR, face, run start
// and end; plots drawn on canvases by the small code below (no library, nothing fetched
// from the internet). Redrawn at most every 100 ms, however fast the TRs come.
'use strict';

const token = new URLSearchParams(location.search).get('token');
const withToken = (path) => token ? path + (path.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(token) : path;
const $ = (id) => document.getElementById(id);
const colors = ['#5fb3ff', '#ffb35f', '#7fe07f', '#ff7f9f', '#c49fff', '#5fe0d8', '#e0d85f', '#b0b0b0'];

let run = null;  // the current run's series
let fdThreshold = 0.5, rSum = 0, rCount = 0, dirty = false, truthSeen = false;

function newRun(m) {
  run = { name: m.run, count: m.count, stages: m.stages || [], tr_ms: 0, index: [], motion: [[], [], [], [], [], []], fd: [],
          stage_ms: [], ready: [], image: new Map(), screen: new Map(), r: [], rMean: [], feedback: [], gaps: 0, last: -1, late: 0 };
  rSum = 0; rCount = 0;
  $('run').textContent = m.run;
  $('count').textContent = m.count > 0 ? m.count : '?';
  setState(m.resumed ? 'receiving (resumed)' : 'receiving', 'receiving');
  legend('stages-legend', run.stages);
  dirty = true;
}

function setState(text, cls) {
  const s = $('state');
  s.textContent = text;
  s.className = 'state ' + (cls || '');
}

function onTr(m) {
  if (!run || run.name !== m.run) newRun({ run: m.run, count: m.n, stages: m.stages_names || [] });
  if (run.last >= 0 && m.i > run.last + 1) run.gaps += m.i - run.last - 1;
  run.last = m.i;
  run.tr_ms = m.tr_s * 1000;
  run.index.push(m.i);
  for (let k = 0; k < 6; ++k) run.motion[k].push(k < 3 ? m.motion[k] : m.motion[k] * 180 / Math.PI);
  run.fd.push(m.fd);
  run.stage_ms.push(m.stage_ms);
  run.ready.push(m.ready_ms);
  if (m.late) run.late = m.late;
  if (m.r !== null && m.r !== undefined) {
    rSum += m.r; rCount += 1;
    run.r.push([m.i, m.r]); run.rMean.push([m.i, rSum / rCount]);
    $('r').textContent = m.r.toFixed(3);
    $('r-mean').textContent = (rSum / rCount).toFixed(3);
  }
  if (m.feedback !== null && m.feedback !== undefined) {
    run.feedback.push([m.i, m.feedback]);
    $('feedback').textContent = m.feedback.toFixed(2);
  }
  const tr = $('tr');
  tr.textContent = m.i + 1;
  tr.dataset.tr = m.i + 1;
  $('count').textContent = m.n > 0 ? m.n : '?';
  $('dropped').textContent = m.dropped;
  $('gaps').textContent = run.gaps;
  $('late').textContent = run.late;
  $('ready').textContent = m.ready_ms === null ? '-' : m.ready_ms.toFixed(1);
  dirty = true;
}

// The next image replaces the shown one only once it has loaded, so the face never blanks while the
// next one arrives; an answer overtaken by a newer request is dropped.
const loading = {};
function showImage(id, url, caption) {
  const img = new Image();
  loading[id] = img;
  img.onload = () => {
    if (loading[id] !== img) return;
    img.id = id;
    img.alt = '';
    $(id).replaceWith(img);
    $(id + '-caption').textContent = caption;
  };
  img.src = url;
}

function onFace(m) {
  if (!run || run.name !== m.run) return;
  if (m.screen_ms !== null) run.screen.set(m.i, m.screen_ms);
  else run.image.set(m.i, m.image_ms);
  if (m.screen_ms === null) {  // a new face: fetch it (the server keeps only the newest)
    showImage('face', withToken('face.jpg?i=' + m.i), 'decoded, TR ' + (m.i + 1));
    // Once a run has a truth (display.truth), its place stays: blank between faces, no jumping.
    if (m.truth) truthSeen = true;
    $('truth-figure').hidden = !truthSeen;
    if (m.truth) showImage('truth', withToken('truth.jpg?i=' + m.i), 'presented');
    else if (truthSeen) {
      loading.truth = null;
      $('truth').removeAttribute('src');
      $('truth-caption').textContent = 'presented: none (between faces)';
    }
  }
  dirty = true;
}

function onRunEnd(m) {
  const row = document.createElement('tr');
  for (const v of [m.run, m.received, m.missing, m.dropped, m.late, m.ended_by]) {
    const td = document.createElement('td');
    td.textContent = v;
    row.appendChild(td);
  }
  if (m.missing > 0 || m.dropped > 0) row.className = 'bad';
  document.querySelector('#runs tbody').appendChild(row);
  if (run && run.name === m.run) setState('between runs (' + m.run + ' ended: ' + m.ended_by + ')', 'between');
}

function onPlan(m) {
  const ol = $('plan');
  ol.innerHTML = '';
  m.runs.forEach((text, k) => {
    const li = document.createElement('li');
    li.textContent = text;
    li.className = k === m.current ? 'current' : k < m.current ? 'done' : '';
    ol.appendChild(li);
  });
}

function onLog(m) {
  const log = $('log');
  log.textContent += m.time + ' ' + m.level + ' ' + m.text + '\n';
  while (log.textContent.length > 20000) log.textContent = log.textContent.slice(log.textContent.indexOf('\n') + 1);
  log.scrollTop = log.scrollHeight;
}

// First on every connection (and reconnection): what follows is the whole story again.
function onHello(m) {
  run = null;
  document.querySelector('#runs tbody').innerHTML = '';
  $('log').textContent = '';
  fdThreshold = m.state.fd_threshold_mm;
  $('fd-threshold').value = fdThreshold;
  setState(m.state.state, m.state.state.startsWith('between') ? 'between' : '');
}

const handlers = { hello: onHello, run_start: newRun, tr: onTr, face: onFace, run_end: onRunEnd, plan: onPlan, log: onLog,
                   state: (m) => setState(m.state, m.class || '') };

// --- plots -------------------------------------------------------------------------------

function legend(id, names, palette) {
  const el = $(id);
  el.innerHTML = '';
  names.forEach((n, k) => {
    const s = document.createElement('span');
    s.innerHTML = '<i></i>';
    s.firstChild.style.background = (palette || colors)[k % colors.length];
    s.appendChild(document.createTextNode(n));
    el.appendChild(s);
  });
}

// A plot area with axes for x in [x0, x1] and y in [y0, y1]; returns the mapping.
function frame(canvas, x0, x1, y0, y1, unit) {
  const dpr = window.devicePixelRatio || 1, w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr)) { canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr); }
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const L = 44, R = 8, T = 6, B = 18;
  if (!(y1 > y0)) { y1 = y0 + 1; }
  if (!(x1 > x0)) { x1 = x0 + 1; }
  const X = (x) => L + (x - x0) / (x1 - x0) * (w - L - R), Y = (y) => T + (1 - (y - y0) / (y1 - y0)) * (h - T - B);
  g.strokeStyle = '#3a434d'; g.fillStyle = '#8a96a3'; g.font = '10px sans-serif'; g.lineWidth = 1;
  for (let k = 0; k <= 4; ++k) {
    const y = y0 + (y1 - y0) * k / 4;
    g.beginPath(); g.moveTo(L, Y(y)); g.lineTo(w - R, Y(y)); g.stroke();
    g.fillText(Math.abs(y) >= 100 ? y.toFixed(0) : y.toPrecision(2), 2, Y(y) + 3);
  }
  g.fillText('TR ' + (x0 + 1), L, h - 4);
  g.fillText(String(x1 + 1), w - R - 24, h - 4);
  if (unit) g.fillText(unit, w - R - 30, T + 10);
  return { g, X, Y, w, h };
}

function line(p, xs, ys, color, width) {
  p.g.strokeStyle = color; p.g.lineWidth = width || 1.5; p.g.beginPath();
  let started = false;
  for (let k = 0; k < xs.length; ++k) {
    if (ys[k] === null || ys[k] === undefined || !isFinite(ys[k])) { started = false; continue; }
    if (started) p.g.lineTo(p.X(xs[k]), p.Y(ys[k])); else p.g.moveTo(p.X(xs[k]), p.Y(ys[k]));
    started = true;
  }
  p.g.stroke();
}

function hline(p, y, color, x0, x1) {
  p.g.save(); p.g.setLineDash([5, 4]); p.g.strokeStyle = color; p.g.lineWidth = 1.2;
  p.g.beginPath(); p.g.moveTo(p.X(x0), p.Y(y)); p.g.lineTo(p.X(x1), p.Y(y)); p.g.stroke(); p.g.restore();
}

function range(arrays, floor) {
  let lo = Infinity, hi = -Infinity;
  for (const a of arrays) for (const v of a) if (v !== null && isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (!isFinite(lo)) { lo = 0; hi = 1; }
  if (floor !== undefined) lo = Math.min(lo, floor);
  const pad = (hi - lo) * 0.08 || 0.5;
  return [lo - (lo === floor ? 0 : pad), hi + pad];
}

function draw() {
  if (!dirty || !run) return;
  dirty = false;
  const xs = run.index, x0 = xs.length ? xs[0] : 0, x1 = xs.length ? xs[xs.length - 1] : 1;
  const n = xs.length;

  let [lo, hi] = range(run.motion);
  let p = frame($('motion'), x0, x1, lo, hi);
  run.motion.forEach((s, k) => line(p, xs, s, colors[k]));
  $('motion').dataset.points = n;

  const over = run.fd.filter((v) => v > fdThreshold).length;
  $('fd-over').textContent = over;
  $('fd-over').className = over > 0 ? 'bad' : '';
  [lo, hi] = range([run.fd, [fdThreshold * 1.2]], 0);
  p = frame($('fd'), x0, x1, lo, hi, 'mm');
  line(p, xs, run.fd, colors[0]);
  hline(p, fdThreshold, '#ff7f7f', x0, x1);
  p.g.fillStyle = '#ff5f5f';
  run.fd.forEach((v, k) => { if (v > fdThreshold) p.g.fillRect(p.X(xs[k]) - 2, p.Y(v) - 2, 5, 5); });
  $('fd').dataset.points = n;

  const totals = run.stage_ms.map((s) => s.reduce((a, b) => a + b, 0));
  [lo, hi] = range([totals], 0);
  p = frame($('stages'), x0 - 0.5, x1 + 0.5, lo, hi, 'ms');
  const bw = Math.max(1, (p.X(x1 + 0.5) - p.X(x0 - 0.5)) / Math.max(1, n) - 1);
  run.stage_ms.forEach((s, k) => {
    let base = 0;
    s.forEach((v, j) => {
      p.g.fillStyle = colors[j % colors.length];
      p.g.fillRect(p.X(xs[k]) - bw / 2, p.Y(base + v), bw, p.Y(base) - p.Y(base + v));
      base += v;
    });
  });
  $('stages').dataset.points = n;

  const image = xs.map((i) => run.image.has(i) ? run.image.get(i) : null);
  const screen = xs.map((i) => run.screen.has(i) ? run.screen.get(i) : null);
  // The TR's budget line when it is near the data; far above, it would flatten them: said instead.
  [lo, hi] = range([run.ready, image, screen], 0);
  const budgetShown = run.tr_ms > 0 && run.tr_ms < hi * 3;
  if (budgetShown) hi = Math.max(hi, run.tr_ms * 1.05);
  p = frame($('latency'), x0, x1, lo, hi, 'ms');
  line(p, xs, run.ready, colors[0]);
  line(p, xs, image, colors[1]);
  line(p, xs, screen, colors[2]);
  if (budgetShown) hline(p, run.tr_ms, '#ff7f7f', x0, x1);
  else if (run.tr_ms > 0) { p.g.fillStyle = '#ff7f7f'; p.g.fillText('TR ' + run.tr_ms.toFixed(0) + ' ms: above the scale', p.w / 2 - 40, 16); }
  $('latency').dataset.points = n;

  const rx = run.r.map((v) => v[0]), fx = run.feedback.map((v) => v[0]);
  [lo, hi] = range([run.r.map((v) => v[1]), run.feedback.map((v) => v[1]), [0]]);
  p = frame($('decoding'), x0, x1, lo, hi);
  line(p, rx, run.r.map((v) => v[1]), colors[0], 1);
  line(p, rx, run.rMean.map((v) => v[1]), colors[1], 2);
  line(p, fx, run.feedback.map((v) => v[1]), colors[2], 1.5);
  hline(p, 0, '#556', x0, x1);
  $('decoding').dataset.points = run.r.length + run.feedback.length;
}

legend('motion-legend', ['x mm', 'y mm', 'z mm', 'pitch deg', 'roll deg', 'yaw deg']);
legend('latency-legend', ['sent→ready', 'sent→image', 'sent→screen', 'TR (budget)'], [colors[0], colors[1], colors[2], '#ff7f7f']);
legend('decoding-legend', ['r per TR', 'running mean', 'feedback'], [colors[0], colors[1], colors[2]]);
$('fd-threshold').addEventListener('change', (e) => { fdThreshold = parseFloat(e.target.value) || 0; dirty = true; });
setInterval(draw, 100);

const events = new EventSource(withToken('events'));
events.onopen = () => { $('link').textContent = 'live'; $('link').className = ''; };
events.onerror = () => { $('link').textContent = 'reconnecting'; $('link').className = 'bad'; };
events.onmessage = (e) => {
  const m = JSON.parse(e.data);
  (handlers[m.type] || (() => {}))(m);
};
