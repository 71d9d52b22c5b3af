(function () {
  var form = document.getElementById("checkout-form");
  function show() {
    var chosen = form.querySelector('input[name="delivery"]:checked');
    form.querySelectorAll("[data-show-for]").forEach(function (block) {
      block.hidden = !chosen || block.dataset.showFor !== chosen.value;
    });
  }
  form.querySelectorAll('input[name="delivery"]').forEach(function (radio) { radio.addEventListener("change", show); });
  show();
  // A second tap would be harmless (same idempotency key, same order), but needs no second trip either.
  form.addEventListener("submit", function () {
    document.querySelectorAll("[data-once]").forEach(function (button) { button.disabled = true; });
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("[data-once]").forEach(function (button) { button.disabled = false; });
  });
})();
