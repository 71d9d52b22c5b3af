// Live figures: refreshed in place every 15 seconds while the page is open; a spinner while asking, and a
// message (the old figures kept) when the answer does not come.
(function () {
  var box = document.getElementById("figures-box"), status = document.getElementById("figures-status");
  function say(kind) {
    status.className = "fetch-status" + (kind === "failed" ? " is-error" : "");
    status.innerHTML = "";
    if (kind === "loading") {
      var spinner = document.createElement("span");
      spinner.className = "spinner";
      status.appendChild(spinner);
    }
    status.appendChild(document.createTextNode(kind ? status.dataset[kind] : ""));
  }
  setInterval(function () {
    if (document.hidden) { return; }
    say("loading");
    fetch(box.dataset.url, {credentials: "same-origin"})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
      .then(function (html) { box.innerHTML = html; say(""); }, function () { say("failed"); });
  }, 15000);
})();
