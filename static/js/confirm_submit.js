// Ask before submitting a form that carries data-confirm="question" (CSP forbids onclick=).
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
