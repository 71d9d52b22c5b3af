// Live figures: refreshed in place every 15 seconds while the page is open.
(function () {
  var box = document.getElementById("figures-box");
  setInterval(function () {
    if (document.hidden) { return; }
    fetch(box.dataset.url, {credentials: "same-origin"}).then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html) { box.innerHTML = html; } });
  }, 15000);
})();
