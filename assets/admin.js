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
  // Ask before cancelling a booking.
  for (const form of document.querySelectorAll("form.cancel")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm("¿Cancelar este turno?")) event.preventDefault();
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
  // Keep the "now" line in view on today's agenda.
  const now = document.querySelector("tr.now");
  if (now) now.scrollIntoView({ block: "center" });
});
