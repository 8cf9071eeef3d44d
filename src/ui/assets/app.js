// hfdl ui: the front end of `hfdl ui`. Plain ES module, no dependencies, no build step.
//
// Every API answer is the JSON the CLI prints with `--json` for the same operation; errors are
// `{"error": {code, message, help, exit_code}}`. The page reads the per-run token from
// /api/session and sends it as `X-Hfdl-Token` on every request. The server's CSP forbids inline
// scripts and style attributes: the DOM is built with createElement (never innerHTML), and
// widths are set through the CSSOM.

const $ = (selector) => document.querySelector(selector);

/** Creates an element: `h("td", {class: "num"}, "12", child)`. Strings become text nodes. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

function clear(el) {
  el.replaceChildren();
  return el;
}

// ---------------------------------------------------------------------------------------------
// Formatting, as the CLI does it.

/** `1.21 GiB`, `512 B`: binary units with two decimals, like the CLI's HumanBytes. */
function bytes(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = Number(n);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(2)} ${units[unit]}`;
}

/** `850ms`, `2.4s`, `3m05s`, `1h02m`. */
function duration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** `1 file`, `3 files`, `2 entries`. */
function count(n, noun) {
  if (n === 1) return `1 ${noun}`;
  if (/[^aeiou]y$/.test(noun)) return `${n} ${noun.slice(0, -1)}ies`;
  return `${n} ${noun}s`;
}

const short = (commit) => (commit ? commit.slice(0, 7) : "—");

function announce(text) {
  const el = $("#announce");
  el.textContent = "";
  // A fresh text node is announced even when the text repeats.
  setTimeout(() => { el.textContent = text; }, 50);
}

// ---------------------------------------------------------------------------------------------
// The API.

const session = { token: null, version: "", manifest: "", project_dir: "" };

class ApiError extends Error {
  constructor(status, error) {
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.error = error;
  }
}

async function api(path, body) {
  const init = { headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (session.token) init.headers["X-Hfdl-Token"] = session.token;
  if (body !== undefined) {
    init.method = "POST";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, {
      code: "ui-unreachable",
      message: `cannot reach hfdl ui: ${e.message}`,
      help: "is `hfdl ui` still running? Start it again and open the address it prints",
    });
  }
  let data = null;
  const text = await response.text();
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data && data.error) || {
      code: `http-${response.status}`,
      message: `${response.status} ${response.statusText}: ${text.slice(0, 200)}`,
    };
    throw new ApiError(response.status, error);
  }
  return data;
}

/** The error box: message, help and code, as the CLI shows them. */
function errorBox(error, status) {
  const e = error instanceof ApiError ? error.error : error.error || error;
  const httpStatus = error instanceof ApiError ? error.status : status;
  return h("div", { class: "error", role: "alert" },
    h("p", { class: "error-message" }, h("strong", {}, "Error: "), e.message || String(error)),
    e.help ? h("p", { class: "error-help" }, h("span", { class: "label" }, "help: "), e.help) : null,
    h("p", { class: "error-code" },
      e.code ? h("code", {}, e.code) : null,
      e.exit_code !== undefined && e.exit_code !== null ? ` · exit code ${e.exit_code}` : "",
      httpStatus ? ` · HTTP ${httpStatus}` : ""),
  );
}

function showError(slot, error) {
  const el = typeof slot === "string" ? $(slot) : slot;
  clear(el);
  if (error) el.append(errorBox(error));
}

// ---------------------------------------------------------------------------------------------
// Theme: the system's, until the toggle picks one (remembered in localStorage).

function currentTheme() {
  const stored = localStorage.getItem("hfdl-theme");
  if (stored === "light" || stored === "dark") return stored;
  return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  const button = $("#theme-toggle");
  button.setAttribute("aria-pressed", String(theme === "dark"));
  button.textContent = theme === "dark" ? "Light theme" : "Dark theme";
}

function setupTheme() {
  applyTheme(currentTheme());
  $("#theme-toggle").addEventListener("click", () => {
    const next = currentTheme() === "dark" ? "light" : "dark";
    localStorage.setItem("hfdl-theme", next);
    applyTheme(next);
  });
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => applyTheme(currentTheme()));
}

// ---------------------------------------------------------------------------------------------
// Screens: one visible section, chosen by the URL's fragment (#sync); the nav marks it.

const screens = {};
let activeScreen = null;

function showScreen(name, { focus = false } = {}) {
  if (!document.getElementById(`screen-${name}`)) name = "project";
  for (const section of document.querySelectorAll("main > section")) {
    section.hidden = section.dataset.screen !== name;
  }
  for (const link of document.querySelectorAll("nav.tabs a")) {
    if (link.dataset.screen === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const first = activeScreen !== name;
  activeScreen = name;
  document.title = `hfdl · ${name[0].toUpperCase()}${name.slice(1)}`;
  if (first && screens[name] && screens[name].onShow) screens[name].onShow();
  if (focus) $(`#screen-${name} h1`)?.focus();
}

function go(name) {
  if (location.hash !== `#${name}`) location.hash = name;
  else showScreen(name);
}

window.addEventListener("hashchange", () => showScreen(location.hash.slice(1) || "project", { focus: true }));

// ---------------------------------------------------------------------------------------------
// Jobs: sync, verify, upgrade and add run one at a time on the server; their progress events
// arrive over SSE. A JobView draws one job: a bar per file, totals, speed, ETA, the log, and
// the final report or error.

const jobs = { current: null };

class JobView {
  constructor(container, { onDone } = {}) {
    this.container = container;
    this.onDone = onDone;
    this.source = null;
  }

  /** Starts a job (POST /api/jobs) and follows it. */
  async start(body, errorSlot) {
    showError(errorSlot, null);
    try {
      const { id } = await api("/api/jobs", body);
      this.follow(id, body.kind);
      return id;
    } catch (e) {
      showError(errorSlot, e);
      return null;
    }
  }

  follow(id, kind) {
    this.close();
    this.id = id;
    this.kind = kind;
    this.tasks = new Map();
    this.order = [];
    this.planned = null;
    this.started = performance.now();
    this.moved = 0;
    this.finished = false;
    this.dirty = false;
    this.container.dataset.job = id;
    delete this.container.dataset.state;
    this.render();
    this.container.scrollIntoView({ block: "nearest" });
    jobs.current = { id, kind, view: this };
    updateJobBanner();

    const source = new EventSource(`/api/jobs/${encodeURIComponent(id)}/events`);
    this.source = source;
    source.addEventListener("progress", (message) => {
      try {
        this.event(JSON.parse(message.data));
      } catch (e) {
        console.error("bad progress event", e, message.data);
      }
    });
    source.addEventListener("done", (message) => {
      source.close();
      let data;
      try {
        data = JSON.parse(message.data);
      } catch {
        data = { ok: false, error: { code: "ui-bad-event", message: "the server sent an unreadable final event" } };
      }
      this.done(data);
    });
    source.addEventListener("error", () => {
      if (this.finished) return;
      // The connection dropped before `done`. Ask the server whether the job still runs; if
      // not, say so (EventSource reconnects by itself otherwise).
      api("/api/jobs/current").then((current) => {
        if (!this.finished && current && current.id !== this.id) {
          source.close();
          this.done({ ok: false, error: { code: "ui-disconnected", message: "lost the connection to the job before it ended", help: "refresh the Project screen to see the store as it is now" } });
        }
      }).catch((e) => {
        if (this.finished) return;
        source.close();
        this.done({ ok: false, error: e.error });
      });
    });
  }

  close() {
    if (this.source) this.source.close();
    this.source = null;
  }

  async cancel() {
    if (!this.id || this.finished) return;
    this.cancelButton.disabled = true;
    this.cancelButton.textContent = "Cancelling…";
    try {
      await api(`/api/jobs/${encodeURIComponent(this.id)}/cancel`, {});
    } catch (e) {
      this.log("warning", `cancel failed: ${e.message}`);
      this.cancelButton.disabled = false;
      this.cancelButton.textContent = "Cancel";
    }
  }

  event(ev) {
    const now = performance.now();
    switch (ev.event) {
      case "resolving":
        this.log("info", `resolving ${ev.name} (${ev.repo}@${ev.revision})`);
        break;
      case "resolved":
        this.log("info", `resolved ${ev.name} → ${short(ev.commit)}: ${count(ev.files, "file")}, ${bytes(ev.bytes)}`);
        break;
      case "planned":
        this.planned = ev;
        this.log("info", plannedText(ev));
        announce(plannedText(ev));
        break;
      case "task_started": {
        const task = {
          id: ev.id, kind: ev.kind, label: ev.label, size: ev.size, done: ev.done, initial: ev.done,
          start: now, last: now, rate: 0, finished: false, ok: null, retries: 0, row: null,
        };
        if (!this.tasks.has(ev.id)) this.order.push(ev.id);
        this.tasks.set(ev.id, task);
        break;
      }
      case "task_progress": {
        const task = this.tasks.get(ev.id);
        if (!task) break;
        task.done += ev.bytes;
        this.moved += ev.bytes;
        const elapsed = (now - task.start) / 1000;
        task.rate = elapsed > 0.05 ? (task.done - task.initial) / elapsed : task.rate;
        break;
      }
      case "task_finished": {
        const task = this.tasks.get(ev.id);
        if (!task) break;
        task.finished = true;
        task.ok = ev.ok;
        task.end = now;
        if (ev.ok) task.done = Math.max(task.done, task.size);
        break;
      }
      case "retrying":
        this.log("warning", `retrying ${ev.label} (attempt ${ev.attempt}): ${ev.error}`);
        for (const task of this.tasks.values()) {
          if (task.label === ev.label && !task.finished) task.retries = ev.attempt;
        }
        break;
      case "status":
        this.log("status", ev.message);
        announce(ev.message);
        break;
      case "info":
        this.log("info", ev.message);
        break;
      case "warning":
        this.log("warning", ev.message);
        break;
      default:
        this.log("info", `${ev.event}: ${JSON.stringify(ev)}`);
    }
    this.schedule();
  }

  schedule() {
    if (this.dirty) return;
    this.dirty = true;
    requestAnimationFrame(() => {
      this.dirty = false;
      this.update();
    });
  }

  log(level, text) {
    this.logList.append(h("li", { class: `log-${level}` }, text));
    this.logDetails.hidden = false;
    this.logCount.textContent = String(this.logList.children.length);
  }

  render() {
    const title = { sync: "Sync", verify: "Verify", upgrade: "Upgrade", add: "Add" }[this.kind] || this.kind;
    this.cancelButton = h("button", { type: "button", class: "danger cancel", onclick: () => this.cancel() }, "Cancel");
    this.overallBar = progressBar(`${title}: overall progress`);
    this.overallText = h("span", { class: "overall-text" }, "starting…");
    this.status = h("p", { class: "job-status", role: "status" }, `${title} running…`);
    this.fileList = h("ol", { class: "files", "aria-label": "Files" });
    this.logList = h("ul", { class: "log" });
    this.logCount = h("span", { class: "count" }, "0");
    this.logDetails = h("details", { class: "log-details", hidden: true },
      h("summary", {}, "Log ", this.logCount), this.logList);
    this.result = h("div", { class: "job-result" });
    clear(this.container).append(
      h("div", { class: "job-head" },
        h("h2", {}, title, h("span", { class: "job-id" }, ` · job ${this.id}`)),
        this.cancelButton),
      this.status,
      h("div", { class: "overall" }, this.overallBar.el, this.overallText),
      this.fileList,
      this.logDetails,
      this.result,
    );
  }

  update() {
    const now = performance.now();
    let total = 0;
    let done = 0;
    for (const id of this.order) {
      const task = this.tasks.get(id);
      total += task.size;
      done += Math.min(task.done, task.size);
      if (!task.row) {
        task.bar = progressBar(task.label);
        task.stats = h("span", { class: "file-stats" });
        task.state = h("span", { class: "file-state" });
        task.row = h("li", { class: "file", dataset: { task: String(id), kind: task.kind } },
          h("span", { class: "file-label", title: task.label },
            task.kind === "verify" ? h("span", { class: "tag" }, "verify") : null, task.label),
          task.bar.el, task.stats, task.state);
        this.fileList.append(task.row);
      }
      const percent = task.size > 0 ? (Math.min(task.done, task.size) * 100) / task.size : (task.finished ? 100 : 0);
      task.bar.set(percent, `${bytes(task.done)} of ${bytes(task.size)}`);
      let stats = `${bytes(Math.min(task.done, task.size))} / ${bytes(task.size)} · ${Math.floor(percent)}%`;
      if (!task.finished && !this.finished && task.rate > 0) {
        stats += ` · ${bytes(Math.round(task.rate))}/s · eta ${duration((task.size - task.done) / task.rate)}`;
      } else if (task.finished && task.end && task.done > 0) {
        const seconds = (task.end - task.start) / 1000;
        if (seconds > 0.05) stats += ` · ${bytes(Math.round(task.size / seconds))}/s`;
      }
      task.stats.textContent = stats;
      task.state.textContent = task.finished
        ? (task.ok ? "✓ done" : "✗ failed")
        : this.finished ? "stopped" : (task.retries ? `retry ${task.retries}` : "");
      task.row.classList.toggle("ok", task.finished && task.ok === true);
      task.row.classList.toggle("failed", task.finished && task.ok === false);
    }
    if (this.planned) {
      total = Math.max(total, this.planned.download_bytes + this.planned.verify_bytes);
    }
    const percent = total > 0 ? (done * 100) / total : (this.finished ? 100 : 0);
    this.overallBar.set(percent, `${bytes(done)} of ${bytes(total)}`);
    const seconds = (now - this.started) / 1000;
    let text = `${bytes(done)} / ${bytes(total)} (${Math.floor(percent)}%)`;
    if (!this.finished && seconds > 0.2 && this.moved > 0) {
      const rate = this.moved / seconds;
      text += ` · ${bytes(Math.round(rate))}/s · eta ${duration((total - done) / rate)}`;
    }
    const finishedTasks = this.order.filter((id) => this.tasks.get(id).finished).length;
    text += ` · ${finishedTasks}/${count(this.order.length, "file")}`;
    this.overallText.textContent = text;
  }

  done(data) {
    this.finished = true;
    this.close();
    this.update();
    this.cancelButton.hidden = true;
    if (jobs.current && jobs.current.id === this.id) jobs.current = null;
    updateJobBanner();
    this.container.dataset.state = data.ok ? "ok" : "failed";
    clear(this.result);
    if (data.ok) {
      this.status.textContent = `${this.title()} finished.`;
      this.result.append(reportView(this.kind, data.report));
      announce(`${this.title()} finished`);
    } else {
      const error = data.error || { message: "the job failed" };
      this.status.textContent = error.code === "cancelled" ? `${this.title()} cancelled.` : `${this.title()} failed.`;
      this.result.append(errorBox({ error }));
      // A failed verification still reports what it found.
      if (data.report) this.result.append(reportView(this.kind, data.report));
      announce(`${this.title()} ${error.code === "cancelled" ? "cancelled" : "failed"}: ${error.message}`);
    }
    if (this.onDone) this.onDone(data, this);
    this.result.scrollIntoView({ block: "nearest" });
    screens.project.stale = true;
    screens.store.stale = true;
  }

  title() {
    return { sync: "Sync", verify: "Verify", upgrade: "Upgrade", add: "Add" }[this.kind] || "Job";
  }
}

function plannedText(ev) {
  const parts = [];
  if (ev.download_files) parts.push(`download ${count(ev.download_files, "file")} (${bytes(ev.download_bytes)})`);
  if (ev.verify_files) parts.push(`verify ${count(ev.verify_files, "file")} (${bytes(ev.verify_bytes)})`);
  return parts.length ? `planned: ${parts.join(", ")}` : "planned: nothing to transfer";
}

/** A bar with role=progressbar; its width is set through the CSSOM (the CSP allows that). */
function progressBar(label) {
  const fill = h("div", { class: "fill" });
  const el = h("div", {
    class: "progress", role: "progressbar", "aria-label": label,
    "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0",
  }, fill);
  return {
    el,
    set(percent, text) {
      const p = Math.max(0, Math.min(100, percent));
      fill.style.width = `${p}%`;
      el.setAttribute("aria-valuenow", String(Math.floor(p)));
      el.setAttribute("aria-valuetext", `${Math.floor(p)}%, ${text}`);
      el.classList.toggle("complete", p >= 100);
    },
  };
}

function updateJobBanner() {
  const banner = $("#job-banner");
  const current = jobs.current;
  banner.hidden = !current;
  for (const id of ["#sync-start", "#verify-start", "#verify-repair"]) {
    const b = $(id);
    if (b) b.disabled = Boolean(current);
  }
  if (!current) return;
  $("#job-banner-text").textContent = `A ${current.kind} job is running (job ${current.id}).`;
  const screen = { verify: "verify", add: "add", upgrade: "outdated" }[current.kind] || "sync";
  $("#job-banner-link").setAttribute("href", `#${screen}`);
}

/** The final report of a job, shown under its bars. */
function reportView(kind, report) {
  if (!report) return h("p", {}, "Done.");
  const parts = [];
  if (report.summary) parts.push(summaryView(report.summary, report));
  if (Array.isArray(report.lock_changes) && report.lock_changes.length) {
    parts.push(h("p", {}, h("strong", {}, "Lock: "),
      report.lock_changes.map((c) => `${c.name} ${c.change}${c.commit ? ` (${short(c.commit)})` : ""}`).join(", ")));
  }
  if (Array.isArray(report.problems)) parts.push(verifyView(report));
  parts.push(h("details", { class: "raw" }, h("summary", {}, "Report (JSON)"), h("pre", {}, JSON.stringify(report, null, 2))));
  return h("div", { class: "report" }, parts);
}

function summaryView(s, report) {
  const rows = [
    ["Files", `${s.files_total} in the lock; ${s.downloaded_files} downloaded, ${s.reused_files} reused, ${s.adopted_files} adopted`],
    ["Downloaded", `${bytes(s.downloaded_bytes)}${s.resumed_bytes ? ` (${bytes(s.resumed_bytes)} resumed)` : ""}`],
    ["Links", `${count(s.links, "link")}, ${count(s.refs, "ref")}${s.dir_files ? `, ${count(s.dir_files, "file")} in dirs` : ""}`],
    ["Pruned", String(s.pruned)],
    ["Retries", String(s.retries)],
    ["Requests", s.requests ? String(s.requests.total) : "—"],
    ["Elapsed", duration(s.elapsed)],
  ];
  if (report && report.throughput_bytes_per_sec) rows.push(["Throughput", `${bytes(Math.round(report.throughput_bytes_per_sec))}/s`]);
  return h("dl", { class: "summary", "aria-label": "Summary" },
    rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function verifyView(report) {
  const head = report.ok && !report.problems.length
    ? h("p", { class: "ok-text" }, `✓ ${count(report.files_checked, "file")} checked, ${count(report.files_hashed, "file")} hashed (${bytes(report.bytes_hashed)}): everything matches the lock.`)
    : h("p", { class: report.ok ? "ok-text" : "bad-text" },
      `${count(report.problems.length, "problem")} in ${count(report.files_checked, "file")} checked`,
      report.repair ? `; repaired: ${count(report.repair.removed_files, "file")} removed and fetched again` : "");
  const table = report.problems.length ? h("table", { class: "problems" },
    h("thead", {}, h("tr", {}, ["Model", "File", "Problem", "Where", "Expected", "Actual"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, report.problems.map((p) => h("tr", {},
      h("td", {}, p.model || ""), h("td", {}, h("code", {}, p.path || p.file || "")),
      h("td", {}, h("span", { class: `badge state-${p.kind}` }, p.kind)),
      h("td", {}, p.location || ""),
      h("td", { class: "hash" }, p.expected ? `${short(p.expected.replace(/^\w+:/, ""))} (${bytes(p.expected_size)})` : ""),
      h("td", { class: "hash" }, p.actual ? `${short(p.actual.replace(/^\w+:/, ""))} (${bytes(p.actual_size)})` : "")),
    ))) : null;
  const remaining = report.repair && report.repair.remaining && report.repair.remaining.length
    ? h("p", { class: "bad-text" }, `Still damaged: ${report.repair.remaining.map((r) => r.path || JSON.stringify(r)).join(", ")}`)
    : null;
  return h("div", { class: "verify-report" }, head, table, remaining,
    report.repair && report.repair.summary ? summaryView(report.repair.summary) : null);
}

// ---------------------------------------------------------------------------------------------
// Confirmation: a modal <dialog> (focus stays inside; Escape cancels).

function confirmDialog(title, body, okLabel) {
  const dialog = $("#confirm");
  $("#confirm-title").textContent = title;
  clear($("#confirm-body")).append(typeof body === "string" ? h("p", {}, body) : body);
  $("#confirm-ok").textContent = okLabel;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
    $("#confirm-cancel").focus();
  });
}

// ---------------------------------------------------------------------------------------------
// Project: the models, their state, drift and actions.

const STATE_TEXT = {
  present: "present", partial: "partial", missing: "missing", modified: "modified",
  "not-locked": "not locked",
};

screens.project = {
  stale: true,
  status: null,
  drift: null,
  onShow() {
    if (this.stale) this.load();
  },
  async load() {
    this.stale = false;
    showError("#project-error", null);
    try {
      this.status = await api("/api/status");
    } catch (e) {
      this.status = null;
      showError("#project-error", e);
      this.render();
      return;
    }
    this.render();
    this.loadDrift();
  },
  async loadDrift() {
    this.drift = { loading: true };
    this.render();
    try {
      const report = await api("/api/outdated");
      this.drift = { report };
      screens.outdated.report = report;
    } catch (e) {
      this.drift = { error: e };
    }
    this.render();
  },
  render() {
    // Re-rendering must not lose the keyboard's place: refocus the same button after.
    const active = document.activeElement;
    const focused = active && $("#models-body").contains(active) ? active.getAttribute("aria-label") : null;
    const body = clear($("#models-body"));
    const models = (this.status && this.status.models) || [];
    $("#project-store").textContent = this.status ? `Store: ${this.status.store}` : "";
    $("#models-empty").hidden = !this.status || models.length > 0;
    const drifts = new Map(((this.drift && this.drift.report && this.drift.report.models) || []).map((m) => [m.name, m]));
    for (const m of models) {
      const drift = drifts.get(m.name);
      body.append(h("tr", { dataset: { model: m.name, state: m.state } },
        h("th", { scope: "row" }, m.name),
        h("td", {}, h("span", { class: "repo" }, m.repo), m.repo_type !== "model" ? h("span", { class: "tag" }, m.repo_type) : null),
        h("td", {}, h("span", { class: `badge state-${m.state}` }, STATE_TEXT[m.state] || m.state)),
        h("td", {}, m.commit ? h("code", { title: m.commit }, short(m.commit)) : "—"),
        h("td", { class: "num" }, m.commit ? `${m.files_present}/${m.files}` : "—"),
        h("td", { class: "num" }, m.commit ? h("span", { title: `${m.bytes_on_disk} of ${m.bytes} bytes` }, `${bytes(m.bytes_on_disk)}`, m.bytes_on_disk !== m.bytes ? h("span", { class: "muted" }, ` of ${bytes(m.bytes)}`) : null) : "—"),
        h("td", {}, m.dir ? [h("code", {}, m.dir), dirStateText(m.dir_state)] : "—"),
        h("td", {}, this.driftCell(m, drift)),
        h("td", { class: "row-actions" },
          drift && drift.state === "outdated"
            ? h("button", { type: "button", class: "primary small", onclick: () => upgrade(m.name), "aria-label": `Upgrade ${m.name}` }, "Upgrade")
            : null,
          h("button", { type: "button", class: "small", onclick: () => verifyModels([m.name], false), "aria-label": `Verify ${m.name}` }, "Verify"),
          h("button", { type: "button", class: "small danger", onclick: () => removeModel(m.name), "aria-label": `Remove ${m.name}` }, "Remove")),
      ));
    }
    if (focused) body.querySelector(`[aria-label="${CSS.escape(focused)}"]`)?.focus();
  },
  driftCell(m, drift) {
    if (!this.drift || this.drift.loading) return h("span", { class: "muted" }, this.drift ? "checking…" : "—");
    if (this.drift.error) {
      const e = this.drift.error.error || {};
      return h("span", { class: "muted", title: `${e.message || ""}${e.help ? `\nhelp: ${e.help}` : ""}` }, `unavailable (${e.code || "error"})`);
    }
    if (!drift) return "—";
    if (drift.state === "up-to-date") return h("span", { class: "badge state-present" }, "up to date");
    if (drift.state === "outdated") {
      const changes = drift.added.length + drift.removed.length + drift.changed.length;
      return h("span", {}, h("span", { class: "badge state-outdated" }, "outdated"),
        h("span", { class: "muted" }, ` → ${short(drift.latest)}, ${count(changes, "file")}, ${bytes(drift.fetch_bytes)}`));
    }
    return h("span", { class: "badge state-partial" }, drift.state.replace("-", " "));
  },
};

function dirStateText(state) {
  if (!state) return null;
  const bad = [];
  if (state.missing) bad.push(`${state.missing} missing`);
  if (state.unverified) bad.push(`${state.unverified} unverified`);
  return h("span", { class: bad.length ? "bad-text" : "muted" }, bad.length ? ` (${bad.join(", ")})` : " ✓");
}

async function removeModel(name) {
  const ok = await confirmDialog(`Remove ${name}?`,
    `This removes [models.${name}] from models.toml and models.lock. The next sync prunes the files nothing else uses.`,
    "Remove");
  if (!ok) return;
  showError("#project-error", null);
  try {
    const report = await api("/api/remove", { name });
    announce(`Removed ${report.removed ? report.removed.join(", ") : name}; ${bytes(report.unlocked_bytes)} no longer locked.`);
  } catch (e) {
    showError("#project-error", e);
  }
  screens.project.load();
}

// ---------------------------------------------------------------------------------------------
// Sync.

const syncView = new JobView($("#sync-job"));
$("#sync-start").addEventListener("click", () => syncView.start({ kind: "sync" }, "#sync-error"));

// ---------------------------------------------------------------------------------------------
// Verify and repair.

const verifyState = { damaged: [] };
const verifyView_ = new JobView($("#verify-job"), {
  onDone(data) {
    const problems = (data.report && data.report.problems) || [];
    const repaired = data.ok && data.report && data.report.repair;
    verifyState.damaged = repaired ? [] : [...new Set(problems.map((p) => p.model).filter(Boolean))];
    const repair = $("#verify-repair");
    repair.hidden = verifyState.damaged.length === 0;
    repair.textContent = verifyState.damaged.length ? `Repair ${verifyState.damaged.join(", ")}` : "Repair";
  },
});

function verifyModels(names, repair) {
  go("verify");
  $("#verify-repair").hidden = true;
  verifyView_.start({ kind: "verify", repair, full: $("#verify-full").checked, names }, "#verify-error");
}

$("#verify-start").addEventListener("click", () => verifyModels([], false));
$("#verify-repair").addEventListener("click", () => verifyModels(verifyState.damaged, true));

// ---------------------------------------------------------------------------------------------
// Outdated and upgrade.

const upgradeView = new JobView($("#upgrade-job"), {
  onDone() {
    screens.outdated.load();
  },
});

function upgrade(name) {
  go("outdated");
  upgradeView.start({ kind: "upgrade", name }, "#outdated-error");
}

screens.outdated = {
  report: null,
  onShow() {
    if (!this.report) this.load();
    else this.render();
  },
  async load() {
    showError("#outdated-error", null);
    clear($("#outdated-list")).append(h("p", { class: "muted" }, "Checking upstream…"));
    try {
      this.report = await api("/api/outdated");
      if (screens.project.status) {
        screens.project.drift = { report: this.report };
        screens.project.render();
      }
    } catch (e) {
      clear($("#outdated-list"));
      showError("#outdated-error", e);
      return;
    }
    this.render();
  },
  render() {
    const list = clear($("#outdated-list"));
    const r = this.report;
    if (!r) return;
    list.append(h("p", {}, r.outdated
      ? `${count(r.outdated, "entry")} moved upstream.`
      : "Every locked entry is up to date with upstream.",
    r.policy_violations ? h("span", { class: "bad-text" }, ` ${count(r.policy_violations, "policy violation")} in the latest commits.`) : null));
    for (const m of r.models) {
      const changes = m.added.length + m.removed.length + m.changed.length;
      const card = h("article", { class: `drift drift-${m.state}`, dataset: { model: m.name } },
        h("div", { class: "drift-head" },
          h("h2", {}, m.name, " ", h("span", { class: "muted repo" }, `${m.repo}@${m.revision}`)),
          h("span", { class: `badge state-${m.state === "up-to-date" ? "present" : m.state === "outdated" ? "outdated" : "partial"}` }, m.state.replace(/-/g, " ")),
          m.state === "outdated" || m.state === "manifest-changed" || m.state === "not-locked"
            ? h("button", { type: "button", class: "primary small", onclick: () => upgrade(m.name), "aria-label": `Upgrade ${m.name}` }, m.state === "outdated" ? "Upgrade" : "Lock")
            : null),
        h("p", {}, "Locked ", h("code", { title: m.locked || "" }, short(m.locked)), " · latest ", h("code", { title: m.latest }, short(m.latest)),
          m.latest_date ? ` (${m.latest_date})` : "",
          changes ? ` · ${count(changes, "file")} changed, ${bytes(m.fetch_bytes)} to download` : "",
          m.xet_reused_bytes ? ` (${bytes(m.xet_reused_bytes)} of Xet chunks already in the store)` : ""),
        m.held_back ? h("p", { class: "muted" }, `Held back by the cooldown (${m.held_back.exclude_newer}): ${m.held_back.revision} points to ${short(m.held_back.latest)}.`) : null,
        changes ? fileDiff(m) : null,
        m.policy && m.policy.length ? h("ul", { class: "policy" }, m.policy.map((f) => h("li", { class: f.severity === "violation" ? "bad-text" : "" }, `${f.rule}: ${f.message}`, f.exception ? h("code", {}, ` ${f.exception}`) : null))) : null,
      );
      list.append(card);
    }
  },
};

function fileDiff(m) {
  const rows = [];
  for (const [kind, sign] of [["added", "+"], ["removed", "−"], ["changed", "~"]]) {
    for (const f of m[kind]) {
      rows.push(h("tr", { class: `diff-${kind}` }, h("td", { class: "sign", title: kind }, sign, h("span", { class: "sr-only" }, kind)), h("td", {}, h("code", {}, f.path)), h("td", { class: "num" }, bytes(f.size))));
    }
  }
  return h("details", { class: "diff", open: true }, h("summary", {}, "Files"),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col", class: "sign" }, h("span", { class: "sr-only" }, "Change")), h("th", { scope: "col" }, "Path"), h("th", { scope: "col", class: "num" }, "Size"))), h("tbody", {}, rows)));
}

$("#outdated-refresh").addEventListener("click", () => screens.outdated.load());
$("#project-upstream").addEventListener("click", () => screens.project.loadDrift());
$("#project-refresh").addEventListener("click", () => screens.project.load());

// ---------------------------------------------------------------------------------------------
// Add a model: a Hub URL or org/name@rev → info → a file picker → include patterns → add job.

/**
 * Splits a reference into what to ask /api/info for and the path it points into:
 * `https://huggingface.co/org/name/tree/REV/dir` → `{ reference: ".../org/name/tree/REV", path: "dir" }`.
 */
function parseReference(input) {
  const text = input.trim();
  const url = /^(https?:\/\/[^/]+\/(?:(?:datasets|spaces)\/)?[^/?#]+\/[^/?#]+)(?:\/(tree|blob|resolve)\/([^/?#]+)(?:\/([^?#]*))?)?\/?(?:[?#].*)?$/.exec(text);
  if (url) {
    const [, base, kind, rev, path] = url;
    return {
      reference: rev ? `${base}/tree/${rev}` : base,
      path: path ? decodeURIComponent(path).replace(/\/$/, "") : "",
      file: kind === "blob" || kind === "resolve",
    };
  }
  return { reference: text, path: "", file: false };
}

const addState = { info: null, reference: null, picker: null };

async function lookup(input) {
  const parsed = parseReference(input);
  showError("#add-error", null);
  clear($("#add-job"));
  if (!parsed.reference) {
    showError("#add-error", { error: { code: "usage", message: "enter a Hub URL or org/name[@revision]" } });
    $("#add-ref").focus();
    return;
  }
  const info = clear($("#add-info"));
  info.append(h("p", { class: "muted" }, `Looking up ${parsed.reference}…`));
  try {
    const report = await api("/api/info", { reference: parsed.reference, include: [], exclude: [] });
    addState.info = report;
    addState.reference = parsed.reference;
    renderInfo(report, parsed);
  } catch (e) {
    clear(info);
    showError("#add-error", e);
  }
}

function renderInfo(report, parsed) {
  const info = clear($("#add-info"));
  const files = (report.files && report.files.list) || [];
  const facts = [
    ["Repository", `${report.repo}${report.repo_type && report.repo_type !== "model" ? ` (${report.repo_type})` : ""}`],
    ["Revision", `${report.revision} → ${short(report.commit)}`],
    ["License", report.license || "unknown"],
    ["Gated", String(report.gated)],
  ];
  if (report.access) facts.push(["Access", `${report.access.state}${report.access.help ? ` — ${report.access.help}` : ""}`]);
  if (report.library_name) facts.push(["Library", report.library_name]);
  if (report.downloads !== null && report.downloads !== undefined) facts.push(["Downloads", report.downloads.toLocaleString("en")]);
  info.append(h("dl", { class: "facts" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));

  const picker = new FilePicker(files, parsed);
  addState.picker = picker;
  const name = h("input", { type: "text", id: "add-name", autocomplete: "off", spellcheck: "false", placeholder: "derived from the repository" });
  const addButton = h("button", { type: "button", class: "primary", id: "add-submit" }, "Add");
  addButton.addEventListener("click", async () => {
    const include = picker.patterns();
    if (include === null) {
      showError("#add-error", { error: { code: "usage", message: "select at least one file" } });
      return;
    }
    const body = { kind: "add", reference: addState.reference, include, exclude: [] };
    if (name.value.trim()) body.name = name.value.trim();
    addButton.disabled = true;
    const id = await addView.start(body, "#add-error");
    if (!id) addButton.disabled = false;
  });
  info.append(
    h("fieldset", { class: "picker" }, h("legend", {}, `Files (${count(files.length, "file")}, ${bytes(report.files ? report.files.total_bytes : 0)})`),
      h("div", { class: "picker-tools" },
        h("button", { type: "button", class: "small", onclick: () => picker.setAll(true) }, "Select all"),
        h("button", { type: "button", class: "small", onclick: () => picker.setAll(false) }, "Select none")),
      picker.el),
    h("p", { class: "total", id: "add-total", "aria-live": "polite" }),
    h("div", { class: "patterns" }, h("span", { class: "label" }, "include = "), h("code", { id: "add-patterns" })),
    h("div", { class: "row add-row" }, h("label", { for: "add-name" }, "Name in models.toml"), name, addButton),
  );
  picker.onchange = () => {
    const total = picker.total();
    $("#add-total").textContent = `Selected: ${count(total.files, "file")}, ${bytes(total.bytes)}`;
    const patterns = picker.patterns();
    $("#add-patterns").textContent = patterns === null ? "(nothing selected)" : patterns.length ? JSON.stringify(patterns) : "[] (every file)";
    addButton.disabled = patterns === null;
  };
  picker.onchange();
}

/** A checkbox tree of a repo's files: folders select everything below them. */
class FilePicker {
  constructor(files, parsed) {
    this.files = files;
    this.boxes = [];
    this.folders = [];
    const root = { dirs: new Map(), files: [] };
    for (const f of files) {
      const parts = f.path.split("/");
      let node = root;
      for (const part of parts.slice(0, -1)) {
        if (!node.dirs.has(part)) node.dirs.set(part, { dirs: new Map(), files: [] });
        node = node.dirs.get(part);
      }
      node.files.push(f);
    }
    const preselect = (path) => {
      if (!parsed.path) return true;
      if (parsed.file) return path === parsed.path;
      return path === parsed.path || path.startsWith(`${parsed.path}/`);
    };
    this.el = h("ul", { class: "tree", role: "list" });
    this.build(root, "", this.el, preselect);
    this.refreshFolders();
  }

  build(node, prefix, list, preselect) {
    for (const [name, child] of [...node.dirs.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const path = `${prefix}${name}`;
      const box = h("input", { type: "checkbox", id: `dir-${this.folders.length}`, dataset: { dir: path } });
      const sub = h("ul", { role: "list" });
      const folder = { path, box, files: [] };
      this.folders.push(folder);
      list.append(h("li", { class: "dir" },
        h("label", {}, box, h("span", { class: "name" }, `${name}/`), h("span", { class: "size", "data-dir-size": path })),
        sub));
      this.build(child, `${path}/`, sub, preselect);
      box.addEventListener("change", () => {
        for (const b of this.boxes) if (b.dataset.path.startsWith(`${path}/`)) b.checked = box.checked;
        this.refreshFolders();
        this.onchange?.();
      });
    }
    for (const f of [...node.files].sort((a, b) => a.path.localeCompare(b.path))) {
      const box = h("input", { type: "checkbox", dataset: { path: f.path, size: String(f.size) } });
      box.checked = preselect(f.path);
      this.boxes.push(box);
      const name = f.path.slice(prefix.length);
      list.append(h("li", { class: "file-item" },
        h("label", {}, box, h("span", { class: "name" }, name), f.lfs ? h("span", { class: "tag" }, "LFS") : null, h("span", { class: "size" }, bytes(f.size)))));
      box.addEventListener("change", () => {
        this.refreshFolders();
        this.onchange?.();
      });
    }
  }

  refreshFolders() {
    for (const folder of this.folders) {
      const inside = this.boxes.filter((b) => b.dataset.path.startsWith(`${folder.path}/`));
      const checked = inside.filter((b) => b.checked);
      folder.box.checked = inside.length > 0 && checked.length === inside.length;
      folder.box.indeterminate = checked.length > 0 && checked.length < inside.length;
      const size = inside.reduce((sum, b) => sum + Number(b.dataset.size), 0);
      const label = folder.box.parentElement.querySelector(".size");
      if (label) label.textContent = bytes(size);
    }
  }

  setAll(value) {
    for (const b of this.boxes) b.checked = value;
    this.refreshFolders();
    this.onchange?.();
  }

  total() {
    const checked = this.boxes.filter((b) => b.checked);
    return { files: checked.length, bytes: checked.reduce((sum, b) => sum + Number(b.dataset.size), 0) };
  }

  /**
   * The include patterns that select exactly the checked files: `[]` for all of them, a
   * folder pattern (`onnx/`) for a fully checked folder, the path for a single file; `null`
   * when nothing is checked.
   */
  patterns() {
    const checked = this.boxes.filter((b) => b.checked);
    if (checked.length === 0) return null;
    if (checked.length === this.boxes.length) return [];
    const patterns = [];
    const covered = new Set();
    // Outermost fully checked folders first (folders are in tree order, parents before children).
    for (const folder of this.folders) {
      if (!folder.box.checked) continue;
      if ([...covered].some((c) => folder.path.startsWith(`${c}/`))) continue;
      covered.add(folder.path);
      patterns.push(`${escapePattern(folder.path)}/`);
    }
    for (const b of checked) {
      const path = b.dataset.path;
      if ([...covered].some((c) => path.startsWith(`${c}/`))) continue;
      patterns.push(escapePattern(path));
    }
    return patterns;
  }
}

/** A literal path as an fnmatch pattern: `*`, `?` and `[` stand for themselves. */
function escapePattern(path) {
  return path.replace(/[*?[]/g, (c) => `[${c}]`);
}

const addView = new JobView($("#add-job"), {
  onDone(data) {
    const button = $("#add-submit");
    if (button) button.disabled = false;
    if (data.ok) screens.project.stale = true;
  },
});

$("#add-form").addEventListener("submit", (e) => {
  e.preventDefault();
  lookup($("#add-ref").value);
});

// ---------------------------------------------------------------------------------------------
// Store: disk use per repo and per model, shared blobs counted once.

screens.store = {
  stale: true,
  onShow() {
    if (this.stale) this.load();
  },
  async load() {
    this.stale = false;
    showError("#store-error", null);
    const view = clear($("#store-view"));
    try {
      const store = await api("/api/store");
      view.append(storeView(store));
    } catch (e) {
      showError("#store-error", e);
    }
  },
};

function storeView(store) {
  const repos = [...(store.repos || [])].sort((a, b) => b.bytes - a.bytes);
  const models = [...(store.models || [])].sort((a, b) => b.bytes - a.bytes);
  const maxRepo = Math.max(1, ...repos.map((r) => r.bytes));
  const maxModel = Math.max(1, ...models.map((m) => m.bytes));
  const chart = (title, rows) => h("figure", { class: "chart" },
    h("figcaption", {}, title),
    h("ul", { class: "bars", role: "list" }, rows));
  const bar = (fraction, sharedFraction) => {
    const el = h("div", { class: "hbar", "aria-hidden": "true" });
    const own = h("div", { class: "seg own" });
    own.style.width = `${(Math.max(0, fraction - sharedFraction) * 100).toFixed(2)}%`;
    if (fraction - sharedFraction > 0) own.classList.add("nonzero");
    el.append(own);
    if (sharedFraction > 0) {
      const shared = h("div", { class: "seg shared nonzero" });
      shared.style.width = `${(sharedFraction * 100).toFixed(2)}%`;
      el.append(shared);
    }
    return el;
  };
  return h("div", { class: "store" },
    h("p", {}, h("strong", {}, bytes(store.total_bytes)), " in ", h("code", {}, store.store),
      ` (${count(repos.length, "repository")}; a blob shared by several models is counted once)`),
    chart("Per repository", repos.map((r) => h("li", { class: "bar-row", dataset: { repo: r.repo } },
      h("span", { class: "bar-label" }, r.repo, r.repo_type !== "model" ? h("span", { class: "tag" }, r.repo_type) : null),
      bar(r.bytes / maxRepo, 0),
      h("span", { class: "bar-value" }, bytes(r.bytes)),
      h("span", { class: "bar-note muted" }, r.models && r.models.length ? `used by ${r.models.join(", ")}` : "not in the lock")))),
    chart("Per model", models.map((m) => h("li", { class: "bar-row", dataset: { model: m.name } },
      h("span", { class: "bar-label" }, m.name),
      bar(m.bytes / maxModel, (m.shared_bytes || 0) / maxModel),
      h("span", { class: "bar-value" }, bytes(m.bytes)),
      h("span", { class: "bar-note muted" }, m.shared_bytes ? `${bytes(m.shared_bytes)} shared with other models` : "")))),
    h("p", { class: "legend muted" }, h("span", { class: "swatch own", "aria-hidden": "true" }), " own  ",
      h("span", { class: "swatch shared", "aria-hidden": "true" }), " shared with other models"),
  );
}

$("#store-refresh").addEventListener("click", () => screens.store.load());

// ---------------------------------------------------------------------------------------------
// GC: a dry run, then a confirmed real run.

screens.gc = {
  onShow() {},
  dry: null,
  async run(dryRun) {
    showError("#gc-error", null);
    const view = $("#gc-view");
    if (!dryRun) {
      const ok = await confirmDialog("Delete unreferenced files?",
        `This deletes ${count(this.dry.files, "file")} (${bytes(this.dry.bytes)}) from ${this.dry.store}. It cannot be undone.`,
        "Delete");
      if (!ok) return;
    }
    clear(view).append(h("p", { class: "muted" }, dryRun ? "Looking for unreferenced files…" : "Deleting…"));
    try {
      const report = await api("/api/gc", { dry_run: dryRun });
      clear(view).append(gcView(report));
      this.dry = dryRun ? report : null;
      const button = $("#gc-run");
      button.hidden = !dryRun || report.files === 0;
      button.textContent = `Delete ${count(report.files, "file")} (${bytes(report.bytes)})`;
      if (!dryRun) {
        screens.store.stale = true;
        screens.project.stale = true;
      }
    } catch (e) {
      clear(view);
      showError("#gc-error", e);
    }
  },
};

function gcView(r) {
  const verb = r.dry_run ? "would free" : "freed";
  const parts = [
    h("p", { class: "gc-total" }, h("strong", {}, `${r.dry_run ? "Would free" : "Freed"} ${bytes(r.bytes)}`), ` (${count(r.files, "file")}) in `, h("code", {}, r.store)),
  ];
  if (r.repos && r.repos.length) {
    parts.push(h("table", { class: "gc-repos" },
      h("thead", {}, h("tr", {}, ["Repository", "Files", "Size", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, r.repos.map((repo) => h("tr", {},
        h("td", {}, repo.repo, repo.repo_type !== "model" ? h("span", { class: "tag" }, repo.repo_type) : null),
        h("td", { class: "num" }, String(repo.files)),
        h("td", { class: "num" }, bytes(repo.bytes)),
        h("td", {}, repo.removed ? `whole repository ${r.dry_run ? "would be " : ""}removed` : "",
          repo.paths && repo.paths.length ? h("details", {}, h("summary", {}, count(repo.paths.length, "path")), h("ul", { class: "paths" }, repo.paths.map((p) => h("li", {}, h("code", {}, p))))) : null),
      )))));
  } else {
    parts.push(h("p", { class: "ok-text" }, `Nothing to free: every file in the store is referenced by a known lockfile.`));
  }
  if (r.locks && r.locks.length) parts.push(h("p", { class: "muted" }, `Lockfiles kept: ${r.locks.join(", ")}`));
  if (r.forgotten_locks && r.forgotten_locks.length) parts.push(h("p", { class: "muted" }, `Lockfiles forgotten (no longer on disk): ${r.forgotten_locks.join(", ")}`));
  if (r.range_maps && r.range_maps.length) parts.push(h("p", { class: "muted" }, `Stale partial-download records: ${r.range_maps.length}`));
  parts.push(h("p", { class: "sr-only" }, `${verb} ${bytes(r.bytes)}`));
  return h("div", {}, parts);
}

$("#gc-dry").addEventListener("click", () => screens.gc.run(true));
$("#gc-run").addEventListener("click", () => screens.gc.run(false));

// ---------------------------------------------------------------------------------------------
// Doctor and settings.

function doctorVerdict(r) {
  const warnings = r.checks.filter((c) => c.status === "warn").length;
  const failures = r.checks.filter((c) => c.status !== "ok" && c.status !== "warn").length;
  if (!r.ok || failures) return `✗ ${count(failures, "check")} failed${warnings ? `, ${count(warnings, "warning")}` : ""}.`;
  return warnings ? `✓ Nothing fails; ${count(warnings, "warning")} below.` : "✓ Every check passed.";
}

screens.doctor = {
  loaded: false,
  onShow() {
    if (!this.loaded) this.load();
  },
  async load() {
    this.loaded = true;
    showError("#doctor-error", null);
    const view = clear($("#doctor-view")).appendChild(h("p", { class: "muted" }, "Running checks…")).parentElement;
    try {
      const r = await api("/api/doctor");
      clear(view).append(
        h("p", { class: r.ok ? "ok-text" : "bad-text" }, doctorVerdict(r)),
        h("table", { class: "checks" },
          h("thead", {}, h("tr", {}, ["Status", "Check", "Detail", "Fix"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, r.checks.map((c) => h("tr", { dataset: { check: c.check, status: c.status } },
            h("td", {}, h("span", { class: `badge status-${c.status}` }, c.status === "ok" ? "✓ ok" : c.status === "warn" ? "! warn" : `✗ ${c.status}`)),
            h("th", { scope: "row" }, c.check),
            h("td", {}, c.detail),
            h("td", {}, c.fix || "")))),
        ));
    } catch (e) {
      clear(view);
      showError("#doctor-error", e);
    }
  },
};
$("#doctor-refresh").addEventListener("click", () => screens.doctor.load());

screens.settings = {
  loaded: false,
  onShow() {
    if (!this.loaded) this.load();
  },
  async load() {
    this.loaded = true;
    showError("#settings-error", null);
    const view = clear($("#settings-view"));
    try {
      const r = await api("/api/config");
      view.append(
        h("p", { class: "muted" }, "Precedence: flags > HFDL_* environment variables > models.toml [settings] > config.toml > defaults. Config file: ", h("code", {}, r.config_file || "—")),
        h("table", { class: "settings" },
          h("thead", {}, h("tr", {}, ["Key", "Value", "Origin"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, r.settings.map((s) => h("tr", { dataset: { key: s.key } },
            h("th", { scope: "row" }, h("code", {}, s.key)),
            h("td", {}, s.value === null ? h("span", { class: "muted" }, "(not set)") : h("code", {}, s.value)),
            h("td", { class: s.source === "default" ? "muted" : "" }, s.source))))));
    } catch (e) {
      showError("#settings-error", e);
    }
  },
};
$("#settings-refresh").addEventListener("click", () => screens.settings.load());

screens.sync = { onShow() {} };
screens.verify = { onShow() {} };
screens.add = { onShow() { $("#add-ref").focus(); } };

// ---------------------------------------------------------------------------------------------
// Drag and drop: a models.toml is checked; a Hub link goes to Add model.

async function checkManifest(file) {
  go("project");
  const out = clear($("#manifest-check"));
  out.append(h("p", { class: "muted" }, `Checking ${file.name}…`));
  let text;
  try {
    text = await file.text();
  } catch (e) {
    clear(out).append(errorBox({ error: { code: "ui-read", message: `cannot read ${file.name}: ${e.message}` } }));
    return;
  }
  try {
    const r = await api("/api/check-manifest", { text, name: file.name });
    clear(out);
    if (r.ok) {
      const names = (r.models || []).map((m) => (typeof m === "string" ? m : m.name));
      out.append(h("div", { class: "check-ok", role: "status" },
        h("p", {}, h("strong", {}, `✓ ${file.name} is valid`), `: ${count(names.length, "model")}`),
        names.length ? h("ul", { class: "inline" }, names.map((n) => h("li", {}, h("code", {}, n)))) : null));
    } else {
      const e = r.error || {};
      out.append(h("div", { class: "check-error", role: "alert" },
        h("p", { class: "error-message" }, h("strong", {}, `✗ ${file.name}`),
          e.line ? ` — line ${e.line}${e.column ? `, column ${e.column}` : ""}` : "", `: ${e.message || ""}`),
        e.rendered ? h("pre", { class: "diagnostic", tabindex: "0", "aria-label": "Diagnostic" }, e.rendered) : null,
        e.help ? h("p", { class: "error-help" }, h("span", { class: "label" }, "help: "), e.help) : null,
        e.code ? h("p", { class: "error-code" }, h("code", {}, e.code), e.exit_code !== undefined ? ` · exit code ${e.exit_code}` : "") : null));
    }
  } catch (e) {
    clear(out).append(errorBox(e));
  }
}

function droppedLink(dt) {
  const uri = dt.getData("text/uri-list") || dt.getData("text/plain") || "";
  const line = uri.split(/\r?\n/).map((l) => l.trim()).find((l) => l && !l.startsWith("#"));
  return line || "";
}

function setupDrop() {
  const overlay = $("#drop-overlay");
  const zone = $("#dropzone");
  let depth = 0;
  const hasPayload = (e) => e.dataTransfer && [...e.dataTransfer.types].some((t) => t === "Files" || t === "text/uri-list" || t === "text/plain");
  document.addEventListener("dragenter", (e) => {
    if (!hasPayload(e)) return;
    e.preventDefault();
    depth += 1;
    overlay.hidden = false;
    zone.classList.add("over");
  });
  document.addEventListener("dragover", (e) => {
    if (!hasPayload(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
  });
  document.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) {
      overlay.hidden = true;
      zone.classList.remove("over");
    }
  });
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    depth = 0;
    overlay.hidden = true;
    zone.classList.remove("over");
    const dt = e.dataTransfer;
    if (!dt) return;
    const file = dt.files && dt.files[0];
    if (file) {
      checkManifest(file);
      return;
    }
    const link = droppedLink(dt);
    if (link) {
      go("add");
      $("#add-ref").value = link;
      lookup(link);
    }
  });
  $("#manifest-file").addEventListener("change", (e) => {
    const file = e.target.files[0];
    if (file) checkManifest(file);
    e.target.value = "";
  });
  // A Hub link pasted into the box is looked up at once.
  $("#add-ref").addEventListener("paste", (e) => {
    const text = (e.clipboardData && e.clipboardData.getData("text/plain")) || "";
    if (/^https?:\/\//.test(text.trim())) {
      e.preventDefault();
      $("#add-ref").value = text.trim();
      lookup(text);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Start.

async function main() {
  setupTheme();
  setupDrop();
  try {
    const s = await api("/api/session");
    Object.assign(session, s);
    $("#version").textContent = s.version ? `v${s.version}` : "";
    const info = clear($("#project-info"));
    info.append(h("code", {}, s.manifest || ""), s.project_dir ? h("span", { class: "muted" }, ` in ${s.project_dir}`) : null);
  } catch (e) {
    clear($("#project-info")).append("not connected");
    const main = $("#main");
    main.prepend(h("div", { class: "session-error" }, errorBox(e),
      h("p", {}, "Open the address `hfdl ui` printed (it carries the session's secret), or start `hfdl ui` again.")));
  }
  showScreen(location.hash.slice(1) || "project");
  try {
    const current = await api("/api/jobs/current");
    if (current && current.id !== null && current.id !== undefined) {
      const view = { verify: verifyView_, add: addView, upgrade: upgradeView }[current.kind] || syncView;
      view.follow(current.id, current.kind);
    }
  } catch {
    // Already reported by /api/session when the server is unreachable.
  }
  document.body.dataset.ready = "true";
}

main();
