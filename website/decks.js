// The lecturer's decks (slides/*.qmd): explorer controls on a slide, and the keyboard.
//
// reveal.js leaves the keys alone while an <input> has the focus, but not while a <select> has
// it: an arrow key would change both the menu and the slide. Here the keys pressed on a focused
// control are the control's (as on the notebook pages), except PageDown and PageUp, which a
// presenter's remote sends and which always change slides, and Escape, which hands the keyboard
// back to the slides. A control changed with the mouse or a touch gives the focus back at once,
// so that the arrow keys, the space bar and a remote move between slides again.
(function () {
  "use strict";
  var CONTROL = ".dlf-explorer [data-dlf-control]";
  var keyed = null; // the control that a key is being pressed on

  function controlOf(element) {
    return element && element.closest ? element.closest(CONTROL) : null;
  }

  document.addEventListener("keydown", function (event) {
    var control = controlOf(event.target);
    if (!control) return;
    event.stopPropagation(); // reveal.js listens on the document, after this capturing listener
    if (event.key === "PageDown" || event.key === "PageUp" || event.key === "Escape") {
      event.preventDefault();
      control.blur();
      if (event.key === "PageDown") window.Reveal.next();
      if (event.key === "PageUp") window.Reveal.prev();
    } else {
      keyed = control;
    }
  }, true);
  document.addEventListener("keyup", function () { keyed = null; }, true);
  document.addEventListener("change", function (event) {
    var control = controlOf(event.target);
    if (control && control !== keyed) control.blur();
  }, true);

  function ready() {
    // A swipe on a slider moves the slider, not the slides (reveal.js's touch navigation).
    document.querySelectorAll(".reveal .dlf-explorer").forEach(function (explorer) {
      explorer.setAttribute("data-prevent-swipe", "");
    });
    if (!window.Reveal || !window.Reveal.on) return;
    window.Reveal.on("slidechanged", function () {
      var control = controlOf(document.activeElement);
      if (control) control.blur(); // never left focused on a slide that is no longer shown
    });
    function menuPanels() {
      // The slide menu's panels scroll: they take the focus, so that the keyboard can scroll them too.
      document.querySelectorAll(".slide-menu-panel").forEach(function (panel) {
        panel.setAttribute("tabindex", "0");
      });
    }
    if (window.Reveal.isReady()) menuPanels();
    else window.Reveal.on("ready", menuPanels);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
