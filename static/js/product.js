(function () {
  var qty = document.getElementById("qty");
  var price = document.getElementById("price");
  var main = document.getElementById("gallery-main");
  document.querySelectorAll("[data-full]").forEach(function (link) {
    link.addEventListener("click", function (event) { event.preventDefault(); main.src = link.dataset.full; });
  });
  if (!qty) { return; }
  function clamp() {
    var n = parseInt(qty.value, 10) || 1;
    qty.value = Math.max(1, Math.min(n, parseInt(qty.max, 10) || 999));
  }
  function choose(radio) {
    qty.max = radio.dataset.max;
    if (price) { price.textContent = "¥" + radio.dataset.price; }
    clamp();
  }
  document.querySelectorAll('input[name="sku"]').forEach(function (radio) {
    radio.addEventListener("change", function () { choose(radio); });
    if (radio.checked) { choose(radio); }
  });
  document.querySelectorAll("[data-step]").forEach(function (button) {
    button.addEventListener("click", function () {
      qty.value = (parseInt(qty.value, 10) || 1) + parseInt(button.dataset.step, 10);
      clamp();
    });
  });
})();
