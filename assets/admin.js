// Progressive enhancement only: every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // The agenda's date picker and branch list show the chosen day at once.
  const picker = document.getElementById("agenda-picker");
  if (picker) {
    for (const field of picker.querySelectorAll("select, input[type=date]")) {
      field.addEventListener("change", () => picker.submit());
    }
  }
  // Ask before cancelling a booking (delegated: the agenda's grid is replaced live).
  document.addEventListener("submit", (event) => {
    if (event.target.matches("form.cancel") && !window.confirm("¿Cancelar este turno?")) {
      event.preventDefault();
    }
  });
  // The agenda keeps itself current: every few seconds it asks whether the day changed and
  // reloads the grid alone, unless someone is typing in it or has a card's actions open
  // (then it says there are changes, and «Actualizar» reloads it).
  const day = () => document.getElementById("agenda-day");
  if (day()) {
    const stale = document.getElementById("agenda-stale");
    const busy = () => {
      const grid = day();
      const active = document.activeElement;
      if (active && grid.contains(active) && active.matches("input, textarea, select")) return true;
      if (grid.querySelector("details[open]")) return true;
      return [...grid.querySelectorAll("input:not([type=hidden]), textarea")].some(
        (f) => (f.type === "checkbox" ? f.checked !== f.defaultChecked : f.value !== f.defaultValue));
    };
    const reload = async () => {
      const grid = day();
      const address = "/admin/agenda?branch=" + encodeURIComponent(grid.dataset.branch) +
        "&date=" + encodeURIComponent(grid.dataset.date) + "&parcial=1";
      const answer = await fetch(address, { credentials: "same-origin" });
      if (!answer.ok) return;
      grid.outerHTML = await answer.text();
      if (stale) stale.hidden = true;
    };
    if (stale) {
      document.getElementById("agenda-refresh").addEventListener("click", () => reload());
    }
    setInterval(async () => {
      const grid = day();
      try {
        const answer = await fetch(grid.dataset.poll, { credentials: "same-origin" });
        if (!answer.ok) return;
        const { version } = await answer.json();
        if (version === grid.dataset.version) return;
        if (busy()) {
          if (stale) stale.hidden = false;
        } else {
          await reload();
        }
      } catch (_) {
        // Offline for a moment: the next round asks again.
      }
    }, 3000);
    // Drag a booking onto a free cell: the same reschedule form the move page sends.
    let dragged = null;
    document.addEventListener("dragstart", (event) => {
      const cell = event.target.closest && event.target.closest("td[data-movable]");
      if (!cell) return;
      dragged = cell.dataset.booking;
      event.dataTransfer.setData("text/plain", dragged);
      event.dataTransfer.effectAllowed = "move";
    });
    const target = (event) => event.target.closest && event.target.closest("#agenda-day td.free[data-barber]");
    document.addEventListener("dragover", (event) => {
      const cell = target(event);
      if (!cell || !dragged) return;
      event.preventDefault();
      cell.classList.add("drop-target");
    });
    document.addEventListener("dragleave", (event) => {
      const cell = target(event);
      if (cell) cell.classList.remove("drop-target");
    });
    document.addEventListener("drop", (event) => {
      const cell = target(event);
      if (!cell || !dragged) return;
      event.preventDefault();
      const grid = day();
      const form = document.createElement("form");
      form.method = "post";
      form.action = "/admin/bookings/" + dragged + "/reschedule";
      const fields = { csrf: grid.dataset.csrf, date: grid.dataset.date,
        slot: cell.dataset.time + "/" + cell.dataset.barber };
      for (const [name, value] of Object.entries(fields)) {
        const input = document.createElement("input");
        input.type = "hidden";
        input.name = name;
        input.value = value;
        form.append(input);
      }
      document.body.append(form);
      form.submit();
    });
  }
  // Client search: the results follow what is typed (the form alone works without this).
  const search = document.getElementById("client-search");
  const results = document.getElementById("results");
  if (search && results) {
    const field = search.querySelector("input[name=q]");
    let timer = null;
    let pending = null;
    field.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const params = new URLSearchParams(new FormData(search));
        if (params.get("q").trim().length < 2) {
          results.replaceChildren();
          return;
        }
        const address = search.getAttribute("action") + "?" + params.toString();
        params.set("parcial", "1");
        if (pending) pending.abort();
        pending = new AbortController();
        try {
          const answer = await fetch(search.getAttribute("action") + "?" + params.toString(), {
            signal: pending.signal,
            credentials: "same-origin",
          });
          if (!answer.ok) return;
          results.innerHTML = await answer.text();
          history.replaceState(null, "", address);
        } catch (_) {
          // Cut short by the next keystroke, or offline: the button still searches.
        }
      }, 250);
    });
  }
  // Week editor: "Agregar pausa" and "Copiar a todos los días" in place (without this file
  // the server answers both buttons with the editor again).
  const week = document.getElementById("week");
  if (week) {
    const status = document.getElementById("week-status");
    const renumber = (row, day, index) => {
      for (const input of row.querySelectorAll("input")) {
        input.name = input.name.replace(/^d\d+_/, "d" + day + "_");
        input.id = input.id.replace(/^d\d+-(bs|be)-\d+$/, "d" + day + "-$1-" + index);
      }
      for (const label of row.querySelectorAll("label")) {
        label.htmlFor = label.htmlFor.replace(/^d\d+-(bs|be)-\d+$/, "d" + day + "-$1-" + index);
      }
    };
    week.addEventListener("click", (event) => {
      const button = event.target.closest("button");
      const day = button && button.closest("fieldset.day");
      if (!day) return;
      const n = day.dataset.day;
      if (button.classList.contains("add-break")) {
        event.preventDefault();
        const rows = day.querySelectorAll(".break");
        const row = rows[rows.length - 1].cloneNode(true);
        for (const input of row.querySelectorAll("input")) input.value = "";
        renumber(row, n, rows.length + 1);
        rows[rows.length - 1].after(row);
        row.querySelector("input").focus();
      } else if (button.classList.contains("copy")) {
        event.preventDefault();
        const start = day.querySelector("#d" + n + "-start").value;
        const end = day.querySelector("#d" + n + "-end").value;
        const rows = [...day.querySelectorAll(".break")];
        let copied = 0;
        for (const other of week.querySelectorAll("fieldset.day")) {
          const m = other.dataset.day;
          if (other === day || !other.querySelector("#d" + m + "-works").checked) continue;
          other.querySelector("#d" + m + "-start").value = start;
          other.querySelector("#d" + m + "-end").value = end;
          const old = [...other.querySelectorAll(".break")];
          let anchor = old[old.length - 1];
          rows.forEach((row, i) => {
            const clone = row.cloneNode(true);
            const from = row.querySelectorAll("input");
            clone.querySelectorAll("input").forEach((input, j) => { input.value = from[j].value; });
            renumber(clone, m, i + 1);
            anchor.after(clone);
            anchor = clone;
          });
          for (const row of old) row.remove();
          copied += 1;
        }
        if (status) {
          status.textContent = copied === 0
            ? "No hay otros días marcados «Trabaja»."
            : "Copiado a " + copied + (copied === 1 ? " día." : " días.");
        }
      }
    });
    for (const box of week.querySelectorAll("input[id$=-works]")) {
      box.addEventListener("change", () => box.closest("fieldset.day").classList.toggle("off", !box.checked));
    }
  }
  // Sistema: while a snapshot or restore drill runs, follow it and show the result when done.
  const task = document.querySelector("#task[data-running]");
  if (task) {
    const started = Date.now();
    const timer = setInterval(async () => {
      try {
        const answer = await fetch("/admin/sistema/tarea.json", { credentials: "same-origin" });
        if (!answer.ok) return;
        const { running } = await answer.json();
        if (!running) {
          clearInterval(timer);
          location.replace("/admin/sistema");
        } else {
          task.dataset.seconds = Math.round((Date.now() - started) / 1000);
        }
      } catch (_) {
        // The next round asks again.
      }
    }, 1000);
  }
  // Keep the "now" line in view on today's agenda.
  const now = document.querySelector("tr.now");
  if (now) now.scrollIntoView({ block: "center" });
});
