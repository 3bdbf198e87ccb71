// Keygate admin UI: progressive enhancements. Every page works without this script.
(function () {
  "use strict";

  // Copy buttons: <button data-copy="input-id">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) return;
    field.select();
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () {
        document.execCommand("copy");
        done();
      });
    } else {
      document.execCommand("copy");
      done();
    }
  });

  // Confirmation before destructive actions: <form data-confirm="message">.
  var dialog = document.getElementById("confirm-dialog");
  var pending = null;
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-confirm") || form.dataset.confirmed === "yes" || !dialog) return;
    event.preventDefault();
    pending = form;
    document.getElementById("confirm-message").textContent = form.getAttribute("data-confirm");
    var submit = form.querySelector("button[type=submit]");
    document.getElementById("confirm-button").textContent = submit ? submit.textContent : "Confirm";
    dialog.showModal();
    document.getElementById("confirm-button").focus();
  });
  if (dialog) {
    dialog.addEventListener("click", function (event) {
      var action = event.target.getAttribute("data-dialog");
      if (!action) return;
      dialog.close();
      if (action === "confirm" && pending) {
        pending.dataset.confirmed = "yes";
        pending.requestSubmit();
      }
      pending = null;
    });
  }

  // A select that reveals a field for one of its values: <select data-toggles="field-id">,
  // shown when "custom" is chosen.
  document.querySelectorAll("select[data-toggles]").forEach(function (select) {
    var field = document.getElementById(select.getAttribute("data-toggles"));
    if (!field) return;
    var update = function () { field.hidden = select.value !== "custom"; };
    select.addEventListener("change", update);
    update();
  });
})();
