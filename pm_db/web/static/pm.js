// pm web view: the copy buttons beside paths (no inline script: the pages' CSP forbids it).
document.addEventListener("click", function (event) {
  const button = event.target.closest("button.copy");
  if (!button) return;
  const field = document.getElementById(button.dataset.for);
  const done = function () {
    button.classList.add("done");
    button.textContent = "Copied";
    setTimeout(function () { button.classList.remove("done"); button.textContent = "Copy"; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done);
  } else {
    field.select();
    document.execCommand("copy");
    done();
  }
});
