/* Every page: the menu button on narrow screens and the language switch (no inline script: CSP). */
(function () {
  var button = document.querySelector(".menu-toggle"), nav = document.getElementById("main-nav");
  if (button && nav) {
    document.documentElement.classList.add("has-menu-toggle");
    button.hidden = false;
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("open", open);
    });
  }
  var language = document.getElementById("language");
  if (language) {
    language.addEventListener("change", function () { language.form.submit(); });
  }
})();
