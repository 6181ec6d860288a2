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
  // Keep the "now" line in view on today's agenda.
  const now = document.querySelector("tr.now");
  if (now) now.scrollIntoView({ block: "center" });
});
