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

// Imports. Everything works without JavaScript (the form posts, the import page refreshes itself);
// with it, an upload too large is stopped before it is sent, the upload shows how much has gone, and
// the import page follows the import through its JSON status instead of reloading.
function refuseUpload(form, message) {
  let box = form.querySelector(".error");
  if (!box) {
    box = document.createElement("p");
    box.className = "error";
    box.setAttribute("role", "alert");
    form.prepend(box);
  }
  box.textContent = message;
}

function sendUpload(form, event) {
  const file = form.elements.namedItem("report").files[0];
  const limit = Number(form.dataset.uploadLimit);
  if (file && limit && file.size > limit) {
    event.preventDefault();
    refuseUpload(form, `The file is larger than the limit of ${Math.round(limit / 1048576)} MB.`);
    return;
  }
  if (!file || !window.XMLHttpRequest) {
    return; // the browser posts the form itself
  }
  event.preventDefault();
  const bar = form.querySelector("progress.sending");
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  bar.hidden = false;
  const request = new XMLHttpRequest();
  request.upload.addEventListener("progress", (sent) => {
    if (sent.lengthComputable) {
      bar.value = Math.floor((100 * sent.loaded) / sent.total);
    }
  });
  request.addEventListener("load", () => {
    if (request.status === 200 && /\/imports\/\d+$/.test(new URL(request.responseURL).pathname)) {
      window.location.assign(request.responseURL);
      return;
    }
    const page = new DOMParser().parseFromString(request.responseText, "text/html");
    const problem = page.querySelector(".error");
    refuseUpload(form, problem ? problem.textContent : `The upload failed (${request.status}).`);
    button.disabled = false;
    bar.hidden = true;
  });
  request.addEventListener("error", () => {
    refuseUpload(form, "The upload was cut off before it ended; try again.");
    button.disabled = false;
    bar.hidden = true;
  });
  request.open("POST", form.action);
  request.send(new FormData(form));
}

function followImport(box) {
  const bar = box.querySelector("progress");
  const text = box.querySelector(".progress-text");
  const status = document.querySelector(".job-status");
  const poll = async () => {
    let state;
    try {
      const response = await fetch(box.dataset.progressUrl, { headers: { Accept: "application/json" } });
      state = response.ok ? await response.json() : null;
    } catch {
      state = null; // a network hiccup: try again at the next tick
    }
    if (state && !state.active) {
      window.location.reload(); // the finished page has the counts and the rejects
      return;
    }
    if (state) {
      bar.value = state.percent;
      text.textContent = `${state.percent}% · ${state.progress_bytes.toLocaleString("en-IN")} of ${state.size_bytes.toLocaleString("en-IN")} bytes`;
      status.textContent = state.label;
    }
    window.setTimeout(poll, 2000);
  };
  window.setTimeout(poll, 2000);
}

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form.upload")) {
    form.addEventListener("submit", (event) => sendUpload(form, event));
  }
  for (const box of document.querySelectorAll("[data-progress-url]")) {
    followImport(box);
  }
});
