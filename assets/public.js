// Progressive enhancement only: every booking page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Show the first problem at once: the first field in error, else the form's message.
  const invalid = document.querySelector("form [aria-invalid=true]");
  const error = invalid || document.getElementById("form-error");
  if (error) error.focus();
  // Back after booking: the details step is asked for again, by GET, and the server answers
  // «ya reservaste» with the booking's link when this browser booked that slot. A refused
  // POST's answer takes the step's GET address in the history (Back then loads it instead
  // of offering to send the form again); a copy restored from memory loads it too.
  const details = document.getElementById("details-form");
  if (details && details.dataset.again) {
    if (details.dataset.posted) window.history.replaceState(null, "", details.dataset.again);
    window.addEventListener("pageshow", (event) => {
      if (event.persisted) window.location.replace(details.dataset.again);
    });
  }
  // One press is enough: disable a form's buttons while it is being sent (the server's
  // idempotency key makes a second send harmless anyway).
  for (const form of document.querySelectorAll("form[method=post]")) {
    form.addEventListener("submit", () => {
      for (const b of form.querySelectorAll("button[type=submit]")) b.disabled = true;
    });
  }
  // Ask before cancelling.
  const cancel = document.getElementById("cancel-form");
  if (cancel) {
    cancel.addEventListener("submit", (event) => {
      if (!window.confirm("¿Seguro que querés cancelar el turno?")) {
        event.preventDefault();
        for (const b of cancel.querySelectorAll("button[type=submit]")) b.disabled = false;
      }
    }, { capture: true });
  }
  // The day strip: the chosen day's week in view; arrow keys move between days (one Tab
  // stop for the whole strip).
  const strip = document.getElementById("day-strip");
  if (strip) {
    const current = strip.querySelector("[aria-current]");
    if (current) strip.scrollLeft = current.closest(".week").offsetLeft - strip.offsetLeft;
    const days = Array.from(strip.querySelectorAll("a.day"));
    strip.addEventListener("keydown", (event) => {
      const i = days.indexOf(document.activeElement);
      const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: 7, ArrowUp: -7 }[event.key];
      if (i < 0 || !step || !days[i + step]) return;
      event.preventDefault();
      days[i].tabIndex = -1;
      days[i + step].tabIndex = 0;
      days[i + step].focus();
      days[i + step].scrollIntoView({ block: "nearest", inline: "nearest" });
    });
  }
  // Picking a date in the field shows that day at once.
  const date = document.getElementById("date");
  if (date && date.form) date.addEventListener("change", () => date.form.submit());
});
