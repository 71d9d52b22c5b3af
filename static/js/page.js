// Behaviour shared by every page, from data attributes (no inline script or handler: the
// Content-Security-Policy allows scripts from our static files only, shequn/csp.py).
(function () {
  // <button data-copy="input-id" data-done="已复制">: copy the input's text.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.dataset.copy);
      var done = function () { button.textContent = button.dataset.done; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () { input.select(); });
      } else {
        input.select();
        try { if (document.execCommand("copy")) { done(); } } catch (e) { /* the text stays selected */ }
      }
    });
  });

  // <p class="countdown" data-seconds="…" data-expired="已到期"><time>: seconds_left from the server,
  // ticked down here.
  document.querySelectorAll(".countdown[data-seconds]").forEach(function (box) {
    var left = parseInt(box.dataset.seconds, 10), time = box.querySelector("time");
    function pad(n) { return (n < 10 ? "0" : "") + n; }
    function tick() {
      if (left <= 0) { time.textContent = box.dataset.expired; return; }
      time.textContent = Math.floor(left / 3600) + ":" + pad(Math.floor(left % 3600 / 60)) + ":" + pad(left % 60);
      left -= 1;
      setTimeout(tick, 1000);
    }
    tick();
  });

  // <form data-confirm="确定…？">: asks before submitting.
  document.addEventListener("submit", function (event) {
    var question = event.target.dataset && event.target.dataset.confirm;
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });

  // Loading state: once a form is on its way its buttons are disabled and say 处理中… (the words are the
  // page's <html data-busy>), so a second tap sends nothing and the member sees it was taken. Restored when
  // the page is shown again from the back-forward cache, or after a while if no page came (a download).
  // <form data-no-busy> opts out.
  var busyWords = document.documentElement.getAttribute("data-busy") || "…";
  function submitButtons(form) {
    var buttons = Array.prototype.slice.call(form.querySelectorAll('button:not([type="button"]), input[type="submit"]'));
    if (form.id) {
      buttons = buttons.concat(Array.prototype.slice.call(document.querySelectorAll('[form="' + form.id + '"]')));
    }
    return buttons;
  }
  function setBusy(button, busy) {
    var isInput = button.tagName === "INPUT";
    if (busy) {
      button.setAttribute("data-idle", isInput ? button.value : button.innerHTML);
      if (isInput) { button.value = busyWords; } else { button.textContent = busyWords; }
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
    } else if (button.hasAttribute("data-idle")) {
      if (isInput) { button.value = button.getAttribute("data-idle"); } else { button.innerHTML = button.getAttribute("data-idle"); }
      button.removeAttribute("data-idle");
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }
  function restoreAll() {
    document.querySelectorAll("[data-idle]").forEach(function (button) { setBusy(button, false); });
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || form.hasAttribute("data-no-busy")) { return; }
    // After the browser has read the pressed button's name and value: a disabled button sends neither.
    setTimeout(function () {
      submitButtons(form).forEach(function (button) {
        if (!button.disabled || button.hasAttribute("data-once")) { setBusy(button, true); }
      });
      setTimeout(restoreAll, 20000);
    }, 0);
  });
  window.addEventListener("pageshow", restoreAll);

  // The dashboard's menu button (shown on a phone only): opens and closes the folded navigation.
  document.querySelectorAll(".nav-toggle").forEach(function (button) {
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", open ? "true" : "false");
      document.getElementById(button.getAttribute("aria-controls")).classList.toggle("open", open);
    });
  });

  // <input data-select-on-click>: a read-only link box selects itself for copying.
  document.querySelectorAll("[data-select-on-click]").forEach(function (input) {
    input.addEventListener("click", function () { input.select(); });
  });
})();
