// The sidebar toggles of sphinx-book-theme 1.3.0 with pydata-sphinx-theme 0.17
// (pydata-sphinx-theme issue #2451): both themes attach their click handlers to
// document.querySelector(".primary-toggle"), the first such button, which is the hidden one
// in the top navbar; the button a reader sees (in the article header) had no handler, so
// the table of contents could neither be opened on a phone nor collapsed on a desktop.
// Each other toggle now hands its click to the first one, which does what the width asks:
// collapse or show the sidebar (992 px and wider), open it as a dialog (narrower).
document.addEventListener("DOMContentLoaded", () => {
  for (const kind of ["primary", "secondary"]) {
    const [wired, ...others] = document.querySelectorAll(`.${kind}-toggle`);
    for (const button of others) {
      button.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopPropagation();
        wired.click();
      });
    }
  }
});
