// The test page: copy the address, and check for the result until it is there.
(function () {
  "use strict";
  var test = document.getElementById("test");
  var copy = document.getElementById("copy");
  if (copy) {
    copy.addEventListener("click", function () {
      var text = copy.getAttribute("data-copy");
      if (navigator.clipboard) { navigator.clipboard.writeText(text); }
      copy.textContent = "Copied";
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("button.copy-record"), function (button) {
    button.addEventListener("click", function () {
      if (navigator.clipboard) { navigator.clipboard.writeText(button.getAttribute("data-copy")); }
      button.textContent = "Copied";
    });
  });
  if (!test || test.getAttribute("data-status") === "done") { return; }
  var id = test.getAttribute("data-test-id");
  var status = document.getElementById("status");
  var checks = 0;
  function check() {
    checks += 1;
    fetch("/api/tests/" + encodeURIComponent(id), {headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (data.status === "done") { window.location.reload(); return; }
        if (status) { status.textContent = data.status === "analysing" ? "analysing your mail" : "waiting for your mail"; }
        if (checks < 2400) { setTimeout(check, 1500); }  // an hour at most
      })
      .catch(function () { if (checks < 2400) { setTimeout(check, 5000); } });
  }
  var button = document.getElementById("check");
  if (button) { button.addEventListener("click", check); }
  setTimeout(check, 1000);
})();
