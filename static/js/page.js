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

  // <input data-select-on-click>: a read-only link box selects itself for copying.
  document.querySelectorAll("[data-select-on-click]").forEach(function (input) {
    input.addEventListener("click", function () { input.select(); });
  });
})();
