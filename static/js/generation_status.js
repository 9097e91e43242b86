/* Live status of an AI generation (templates: includes/generation_status.html).
 * Polls the JSON status endpoint about every second while the generation is queued or running,
 * updates the badge, the elapsed time and the streamed text (textContent only: model output is
 * data, never markup), and reloads the page once it is done so the sections or the failure
 * reason and the Retry button appear. No inline script anywhere (Content-Security-Policy). */
(function () {
  "use strict";

  var panel = document.querySelector("[data-status-url]");
  if (!panel) {
    return;
  }
  var url = panel.getAttribute("data-status-url");
  var badge = panel.querySelector("[data-role=status-badge]");
  var detail = panel.querySelector("[data-role=status-detail]");
  var text = panel.querySelector("[data-role=stream-text]");
  var elapsed = panel.querySelector("[data-role=elapsed]");
  var errorLine = panel.querySelector("[data-role=poll-error]");

  var INTERVAL_MS = 1000;
  var HIDDEN_INTERVAL_MS = 5000;
  // Polling keeps the session alive; stop after a while so an idle screen still logs out.
  var GIVE_UP_MS = 30 * 60 * 1000;
  var STOP = {};
  var startedAt = Date.now();
  var failures = 0;

  function formatSeconds(seconds) {
    if (seconds === null || seconds === undefined) {
      return "";
    }
    var s = Math.max(0, Math.round(seconds));
    var m = Math.floor(s / 60);
    return (m ? m + " min " : "") + (s % 60) + " s";
  }

  function render(data) {
    panel.setAttribute("data-generation-status", data.generation_status);
    if (badge) {
      badge.textContent = data.label;
      // The colour comes from the server (services.generation.GENERATION_BADGES).
      badge.className = "badge " + (data.badge_class || "text-bg-secondary");
    }
    if (elapsed) {
      elapsed.textContent = formatSeconds(data.elapsed_seconds);
    }
    if (detail) {
      if (data.generation_status === "queued") {
        detail.textContent = data.queue_position
          ? "Waiting for a worker: " + data.queue_position + " generation(s) ahead…"
          : "Waiting for a worker to start the generation…";
      } else if (data.generation_status === "running") {
        detail.textContent = data.text
          ? "The model is writing…"
          : "The model is reading the record (this can take a while on a cold start)…";
      }
    }
    var shown = typeof data.display_text === "string" ? data.display_text : data.text;
    if (text && typeof shown === "string" && text.textContent !== shown) {
      var atBottom = text.scrollHeight - text.scrollTop - text.clientHeight < 24;
      text.textContent = shown;
      if (atBottom) {
        text.scrollTop = text.scrollHeight;
      }
    }
    if (errorLine) {
      errorLine.hidden = true;
    }
  }

  function schedule(ms) {
    if (Date.now() - startedAt > GIVE_UP_MS) {
      if (errorLine) {
        errorLine.textContent = "Still working. Reload the page to check again.";
        errorLine.hidden = false;
      }
      return;
    }
    window.setTimeout(poll, document.hidden ? Math.max(ms, HIDDEN_INTERVAL_MS) : ms);
  }

  function poll() {
    window
      .fetch(url, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "application/json" }
      })
      .then(function (response) {
        // Logged out (redirect to the login page) or no longer allowed: let the page decide.
        if (response.redirected || [401, 403, 404].indexOf(response.status) !== -1) {
          window.location.reload();
          throw STOP;
        }
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        render(data);
        if (data.done) {
          window.location.reload();
          return;
        }
        schedule(INTERVAL_MS);
      })
      .catch(function (error) {
        if (error === STOP) {
          return;
        }
        failures += 1;
        if (errorLine) {
          errorLine.textContent = "Lost contact with the server; retrying…";
          errorLine.hidden = false;
        }
        schedule(Math.min(15000, INTERVAL_MS * Math.pow(2, failures)));
      });
  }

  schedule(INTERVAL_MS);
})();
