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

// The printable book: "Whole book (.pdf)" in every page's download menu, beside the page's
// own source and print buttons. `make pdf` puts the PDF at the root of the HTML book
// (_build/html/cnn-course.pdf, copied from _build/latex by tools/pdf_book.py).
document.addEventListener("DOMContentLoaded", () => {
  const menu = document.querySelector(".dropdown-download-buttons .dropdown-menu");
  if (!menu) return;
  const root = document.documentElement.dataset.content_root || "./";
  const item = document.createElement("li");
  const link = document.createElement("a");
  link.href = `${root}cnn-course.pdf`;
  link.className = "btn btn-sm btn-download-book-pdf-button dropdown-item";
  link.title = "The whole course as one PDF, for printing and reading offline";
  link.innerHTML = '<span class="btn__icon-container"><i class="fas fa-book"></i></span>' +
    '<span class="btn__text-container">Whole book (.pdf)</span>';
  item.append(link);
  menu.append(item);
});
