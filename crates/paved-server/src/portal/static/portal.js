// Live logs: follows a job's or an engine service's log as server-sent events. The pages
// show the log so far without JavaScript; this only appends what comes next.
"use strict";

function line(className, parts) {
  const item = document.createElement("li");
  item.className = className;
  for (const [cls, text] of parts) {
    if (cls) {
      const span = document.createElement("span");
      span.className = cls;
      span.textContent = text;
      item.appendChild(span);
      item.appendChild(document.createTextNode(" "));
    } else {
      item.appendChild(document.createTextNode(text));
    }
  }
  return item;
}

function followJob(log) {
  if (log.dataset.finished === "true") return;
  let after = Number(log.dataset.after || 0);
  const source = new EventSource(log.dataset.jobEvents);
  source.addEventListener("log", (event) => {
    const entry = JSON.parse(event.data);
    if (entry.seq <= after) return;
    after = entry.seq;
    log.appendChild(line("level-" + entry.level, [["step", entry.at.slice(11, 19) + " " + entry.step], [null, entry.message]]));
    log.scrollTop = log.scrollHeight;
  });
  source.addEventListener("end", (event) => {
    source.close();
    const job = JSON.parse(event.data);
    const state = document.getElementById("job-state");
    if (state) {
      state.textContent = "";
      const span = document.createElement("span");
      span.className = "state state-" + job.state;
      span.textContent = job.state;
      state.appendChild(span);
    }
    // A finished job cannot be cancelled any more.
    const cancel = document.getElementById("job-cancel");
    if (cancel) cancel.remove();
    const finished = document.getElementById("job-finished");
    if (finished && job.finishedAt) {
      finished.textContent = "";
      const time = document.createElement("time");
      time.dateTime = job.finishedAt;
      time.title = job.finishedAt;
      time.textContent = "just now";
      finished.appendChild(time);
    }
    const follow = document.getElementById("job-follow");
    if (follow) follow.textContent = "The job has ended: " + job.state + (job.error ? " (" + job.error + ")" : "") + ".";
    log.dataset.finished = "true";
    if (job.result && job.result.service && !document.getElementById("job-result")) {
      const paragraph = document.createElement("p");
      paragraph.id = "job-result";
      const link = document.createElement("a");
      link.href = "/catalog/component/default/" + encodeURIComponent(job.result.service);
      link.textContent = job.result.service;
      paragraph.append("Created ", link, ".");
      log.after(paragraph);
    }
  });
}

function followService(log) {
  const source = new EventSource(log.dataset.serviceLogs);
  let first = true;
  source.addEventListener("log", (event) => {
    // The stream starts with the lines the page already shows; show its copy instead.
    if (first) { log.textContent = ""; first = false; }
    const entry = JSON.parse(event.data);
    log.appendChild(line("stream-" + entry.stream, [["task", entry.taskId.slice(0, 8)], [null, entry.message]]));
    while (log.children.length > 1000) log.removeChild(log.firstChild);
    log.scrollTop = log.scrollHeight;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-job-events]").forEach(followJob);
  document.querySelectorAll("[data-service-logs]").forEach(followService);
});
