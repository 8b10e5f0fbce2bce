// The dashboard page: polls the JSON API every two seconds and draws the selected run.
"use strict";

const POLL_MS = 2000;
let selected = new URLSearchParams(location.search).get("run");
let charts = null;
let controlsOn = false;  // the dashboard was started with a token

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function money(value) {
  return value === null ? "-" : Number(value).toLocaleString("en", {
    minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

function trimmed(amount) {
  if (amount === null) return "-";
  if (/e/i.test(amount)) return String(Number(amount));  // "0E-8", as a Decimal writes zero
  return amount.includes(".") ? amount.replace(/0+$/, "").replace(/\.$/, "") || "0" : amount;
}

async function getJson(path) {
  const answer = await fetch(path);
  if (!answer.ok) throw new Error(`${path}: ${answer.status}`);
  return answer.json();
}

function showRuns(runs) {
  const body = document.querySelector("#runs tbody");
  body.replaceChildren();
  document.getElementById("no-runs").hidden = runs.length > 0;
  for (const run of runs) {
    const row = document.createElement("tr");
    row.dataset.run = run.run_id;
    if (run.run_id === selected) row.className = "selected";
    row.append(
      cell(run.run_id), cell(run.state, `state-${run.state}`), cell(`${run.mode} / ${run.data}`),
      cell(run.strategy), cell(`${run.symbol} ${run.timeframe}`),
      cell(run.bars.toLocaleString("en"), "number"), cell(money(run.equity), "number"),
      cell(run.positions ? held(run.positions) : trimmed(run.position), "number"),
      cell(run.trading_state),
      cell(run.last_bar === null ? "-" : run.last_bar.replace("T", " ").replace("+00:00", "Z")));
    row.addEventListener("click", () => select(run.run_id));
    body.append(row);
  }
}

function held(positions) {
  // a portfolio's open positions, by symbol
  const open = Object.entries(positions).map(([symbol, quantity]) => `${symbol} ${trimmed(quantity)}`);
  return open.length ? open.join(", ") : "flat";
}

function makeCharts() {
  const options = { timeScale: { timeVisible: true, secondsVisible: false },
    rightPriceScale: { borderVisible: false }, layout: { attributionLogo: false } };
  const make = (id) => LightweightCharts.createChart(document.getElementById(id), options);
  const price = make("price"), equity = make("equity"), drawdown = make("drawdown");
  return {
    price, equity, drawdown,
    close: price.addLineSeries({ color: "#667085", lineWidth: 1 }),
    worth: equity.addLineSeries({ color: "#1f6feb", lineWidth: 2, title: "strategy" }),
    held: equity.addLineSeries({ color: "#f79009", lineWidth: 1, title: "buy and hold" }),
    down: drawdown.addAreaSeries({ lineColor: "#d92d20", topColor: "rgba(217,45,32,0.1)",
      bottomColor: "rgba(217,45,32,0.4)", invertFilledArea: true }),
  };
}

function nearest(times, t) {
  // the last series time at or before t (markers sit on the series' points)
  let lo = 0, hi = times.length - 1;
  while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (times[mid] <= t) lo = mid; else hi = mid - 1; }
  return times[lo];
}

function seconds(iso) { return Math.floor(Date.parse(iso) / 1000); }

function showSeries(series, fills, denials, states, start, leg) {
  if (charts === null) charts = makeCharts();
  const t = series.time;
  const points = (values) => t.map((time, k) => ({ time, value: values[k] }));
  charts.close.setData(points(series.close_high));
  charts.worth.setData(points(series.equity_high));
  const first = series.close_low.length ? series.close_low[0] : 1;
  // a portfolio's price pane is its first leg's; buying and holding that alone says little
  charts.held.setData(leg === null ? points(series.close_high.map((c) => start * c / first)) : []);
  const own = (event) => leg === null || event.symbol === leg;
  fills = fills.filter(own);
  denials = denials.filter(own);
  charts.down.setData(points(series.drawdown_pct));
  if (t.length) {
    const markers = [];
    for (const fill of fills) {
      const buy = fill.side === "buy";
      markers.push({ time: nearest(t, seconds(fill.time)), position: buy ? "belowBar" : "aboveBar",
        color: buy ? "#12b76a" : "#1d2430", shape: buy ? "arrowUp" : "arrowDown" });
    }
    for (const denial of denials) {
      markers.push({ time: nearest(t, seconds(denial.time)), position: "aboveBar",
        color: "#d92d20", shape: "circle", size: 0.5 });
    }
    for (const change of states) {
      markers.push({ time: nearest(t, seconds(change.time)), position: "aboveBar",
        color: "#7a5af8", shape: "square", text: change.to.toUpperCase() });
    }
    markers.sort((a, b) => a.time - b.time);
    charts.close.setMarkers(markers);
  }
  for (const chart of [charts.price, charts.equity, charts.drawdown]) chart.timeScale().fitContent();
}

function showTables(fills, denials, detail) {
  const fillBody = document.querySelector("#fills tbody");
  fillBody.replaceChildren(...fills.events.slice(-200).reverse().map((f) => {
    const row = document.createElement("tr");
    row.append(cell(f.time), cell(f.client_id), cell(f.side), cell(trimmed(f.quantity), "number"),
      cell(trimmed(f.price), "number"), cell(money(f.fee), "number"));
    return row;
  }));
  document.getElementById("fill-count").textContent = `(${fills.total})`;
  const denialBody = document.querySelector("#denials tbody");
  denialBody.replaceChildren(...denials.events.slice(-200).reverse().map((d) => {
    const row = document.createElement("tr");
    row.append(cell(d.time), cell(d.client_ids.join(", ")), cell(d.reasons.join("; ")));
    return row;
  }));
  document.getElementById("denial-count").textContent = `(${denials.total})`;
  const states = document.getElementById("states");
  const history = detail.trading_states.map((s) => {
    const item = document.createElement("li");
    item.textContent = `${s.time}: ${s.from} -> ${s.to} (${s.reason})`;
    return item;
  });
  if (!history.length) {
    const item = document.createElement("li");
    item.textContent = "active throughout";
    history.push(item);
  }
  states.replaceChildren(...history);
  document.getElementById("config").textContent = JSON.stringify(detail.config, null, 2);
}

async function showRun() {
  if (selected === null) return;
  const run = encodeURIComponent(selected);
  const [detail, series, fills, denials] = await Promise.all([
    getJson(`/api/runs/${run}`), getJson(`/api/runs/${run}/series?points=1000`),
    getJson(`/api/runs/${run}/events?kind=fill&limit=1000`),
    getJson(`/api/runs/${run}/events?kind=order_denied&limit=1000`)]);
  const status = detail.status;
  document.getElementById("run").hidden = false;
  document.getElementById("run-title").textContent =
    `${status.run_id}: ${status.strategy} on ${status.symbol} ${status.timeframe}`;
  const state = document.getElementById("run-state");
  state.textContent = `${status.state}, ${status.bars.toLocaleString("en")} bars, equity ` +
    `${money(status.equity)}, trading ${status.trading_state}` +
    (status.stop_reason ? `, stopped: ${status.stop_reason}` : "");
  state.className = `state-${status.state}`;
  document.getElementById("controls").hidden = !(controlsOn && status.state === "running");
  const legs = detail.config.legs || [];
  const leg = legs.length ? legs[0].symbol : null;
  document.getElementById("price-title").textContent = leg === null
    ? "Price, with entries, exits and denials"
    : `Price of ${leg} (the first of ${legs.length} legs), with its entries, exits and denials`;
  document.getElementById("equity-title").textContent = leg === null
    ? "Equity and buy-and-hold" : "Equity of the account";
  showSeries(series, fills.events, denials.events, detail.trading_states,
    detail.config.start_balance, leg);
  showTables(fills, denials, detail);
}

function select(runId) {
  selected = runId;
  history.replaceState(null, "", `?run=${encodeURIComponent(runId)}`);
  refresh();
}

async function refresh() {
  try {
    const { runs } = await getJson("/api/runs");
    showRuns(runs);
    await showRun();
    document.getElementById("updated").textContent =
      `updated ${new Date().toLocaleTimeString("en-GB")}`;
  } catch (error) {
    document.getElementById("updated").textContent = `not updated: ${error.message}`;
  }
}

async function sendControl(command) {
  let token = sessionStorage.getItem("peak-trade-token");
  if (!token) {
    token = prompt("The dashboard's token (PEAK_TRADE_DASHBOARD_TOKEN):");
    if (!token) return;
  }
  const answer = await fetch(`/api/runs/${encodeURIComponent(selected)}/control`, {
    method: "POST", headers: { "Content-Type": "application/json",
      Authorization: `Bearer ${token}` }, body: JSON.stringify({ command }) });
  const result = document.getElementById("control-result");
  if (answer.ok) {
    sessionStorage.setItem("peak-trade-token", token);
    result.textContent = `sent ${command}: the run applies it before its next poll`;
  } else {
    if (answer.status === 401) sessionStorage.removeItem("peak-trade-token");
    result.textContent = `not sent: ${(await answer.json()).detail}`;
  }
}

for (const button of document.querySelectorAll("#controls button")) {
  button.addEventListener("click", () => sendControl(button.dataset.command));
}

getJson("/api/controls").then((answer) => { controlsOn = answer.enabled; });
refresh();
setInterval(refresh, POLL_MS);
