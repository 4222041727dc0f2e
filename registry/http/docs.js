// Starts Swagger UI on /docs. A file of its own, so that the page's policy allows no inline
// script. Runs after swagger-ui-bundle.js (both deferred, in order).
"use strict";

(function () {
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    // Deep links would put a link inside each operation's toggle button, which screen readers
    // cannot reach (nested interactive controls).
    deepLinking: false,
    // The public validator is another site: the page talks to the registry alone.
    validatorUrl: null,
    // Plain text: the highlighter's colours are too faint on its dark background.
    syntaxHighlight: false,
    // A token typed into "Authorize" lasts as long as the tab, never in storage.
    persistAuthorization: false,
  });

  // Swagger UI leaves a few controls without a name screen readers can announce, and its code
  // samples scroll without being reachable by keyboard: name and reach them as they appear.
  function label(node) {
    for (const select of node.querySelectorAll("tr[data-param-name] select:not([aria-label])")) {
      select.setAttribute("aria-label", select.closest("tr").dataset.paramName);
    }
    for (const button of node.querySelectorAll("button.close-modal:not([aria-label])")) {
      button.setAttribute("aria-label", "Close");
    }
    for (const code of node.querySelectorAll("pre.microlight:not([tabindex])")) {
      code.setAttribute("tabindex", "0");
    }
  }
  new MutationObserver(() => label(root)).observe(root, { childList: true, subtree: true });
})();
