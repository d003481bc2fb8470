// The staff console works without JavaScript; this only saves a round trip. "Insert" next to the
// canned answers adds the chosen one, in the user's language, to the end of the reply box, as the
// server does when JavaScript is off, and keeps whatever was typed there.
"use strict";

function appendAnswer(box, text) {
  const typed = box.value.replace(/\s+$/, "");
  box.value = typed ? `${typed}\n\n${text}` : text;
  box.focus();
  box.setSelectionRange(box.value.length, box.value.length);
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-insert-into]")) {
    button.addEventListener("click", (event) => {
      const box = document.getElementById(button.dataset.insertInto);
      const chosen = button.form.elements.namedItem("canned");
      const option = chosen && chosen.selectedOptions[0];
      if (!box || !option || !option.dataset.text) {
        return; // the form asks the server instead
      }
      event.preventDefault();
      appendAnswer(box, option.dataset.text);
    });
  }
});
