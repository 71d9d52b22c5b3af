// Live validation: the same rules as saving, asked of the server as the operator types; nothing is saved.
(function () {
  var form = document.getElementById("campaign-form"), timer = null, touched = {};
  function fieldBox(name) {
    var input = form.querySelector('[name="' + name + '"], [name="s-' + name + '"]');
    return input ? input.closest(".field") : null;
  }
  function show(errors) {
    form.querySelectorAll(".live-error").forEach(function (el) { el.remove(); });
    form.querySelectorAll(".field.has-live-error").forEach(function (el) { el.classList.remove("has-live-error"); });
    Object.keys(errors).forEach(function (name) {
      if (!touched[name] && !touched["s-" + name]) { return; }  // only what the operator has filled in so far
      var box = fieldBox(name);
      if (!box || box.querySelector(".error")) { return; }
      var div = document.createElement("div");
      div.className = "error live-error";
      div.textContent = errors[name].join(" ");
      box.classList.add("has-live-error");
      box.appendChild(div);
    });
  }
  var status = document.getElementById("validate-status");
  function say(kind) {  // a spinner while asking; a message when the check could not be made
    if (!status) { return; }
    status.className = "fetch-status" + (kind === "failed" ? " is-error" : "");
    status.innerHTML = "";
    if (kind === "loading") {
      var spinner = document.createElement("span");
      spinner.className = "spinner";
      status.appendChild(spinner);
    }
    status.appendChild(document.createTextNode(kind ? status.dataset[kind] : ""));
  }
  function check() {
    say("loading");
    fetch(form.dataset.validateUrl, {method: "POST", body: new FormData(form), credentials: "same-origin"})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) { say(""); show(data.errors || {}); }, function () { say("failed"); });
  }
  function touch(event) { if (event.target.name) { touched[event.target.name] = true; } }
  form.addEventListener("input", function (e) { touch(e); clearTimeout(timer); timer = setTimeout(check, 500); });
  form.addEventListener("change", function (e) { touch(e); clearTimeout(timer); timer = setTimeout(check, 200); });
})();
