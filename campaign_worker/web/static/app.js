// Keyboard moderation and in-place updates for the queue page.
// Without this script every button still works as a plain form post.
(function () {
  "use strict";
  var cardsBox = document.getElementById("cards");
  if (!cardsBox) { return; }
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var labels = JSON.parse(cardsBox.getAttribute("data-labels") || "{}");
  var texts = JSON.parse(cardsBox.getAttribute("data-texts") || "{}");
  var canDecide = cardsBox.getAttribute("data-can-decide") === "1";
  var cards = Array.prototype.slice.call(cardsBox.querySelectorAll(".card"));
  var current = -1;
  var undoStack = [];

  function say(message) {
    var live = document.getElementById("live");
    if (!live) {
      live = document.createElement("p");
      live.id = "live";
      live.className = "flash";
      live.setAttribute("role", "status");
      cardsBox.parentNode.insertBefore(live, cardsBox);
    }
    live.textContent = message;
  }

  function select(index) {
    if (!cards.length) { return; }
    index = Math.max(0, Math.min(cards.length - 1, index));
    if (current >= 0 && cards[current]) { cards[current].classList.remove("current"); }
    current = index;
    var card = cards[current];
    card.classList.add("current");
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
  }

  function cardOf(postId) {
    for (var i = 0; i < cards.length; i++) {
      if (cards[i].getAttribute("data-post-id") === String(postId)) { return i; }
    }
    return -1;
  }

  function showState(card, state) {
    card.setAttribute("data-state", state);
    card.className = card.className.replace(/\bstate-\w+/, "state-" + state);
    var badge = card.querySelector('[data-role="state"]');
    if (badge) { badge.textContent = labels[state] || state; }
  }

  // A person's decision replaces the rule's "decided by" line on the card.
  function showDecider(card) {
    var line = card.querySelector(".decided");
    if (!line) {
      line = document.createElement("p");
      line.className = "decided";
      var actions = card.querySelector(".actions");
      actions.parentNode.insertBefore(line, actions);
    }
    line.textContent = (texts.decided_by || "") + " user:" + (cardsBox.getAttribute("data-user") || "");
  }

  function showCounts(counts) {
    Object.keys(counts || {}).forEach(function (state) {
      var el = document.querySelector('[data-count="' + state + '"]');
      if (el) { el.textContent = Number(counts[state]).toLocaleString(document.documentElement.lang); }
    });
  }

  function call(path, body) {
    return fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (response.status === 401) { window.location.reload(); throw new Error("login"); }
      return response.json().then(function (data) {
        if (!response.ok) { throw new Error(typeof data.detail === "string" ? data.detail : response.status); }
        return data;
      });
    });
  }

  function decide(index, action, reason) {
    var card = cards[index];
    if (!card || !canDecide) { return; }
    var campaign = card.getAttribute("data-campaign");
    var postId = Number(card.getAttribute("data-post-id"));
    call("/api/queue/decide", { campaign: campaign, post_ids: [postId], action: action, reason: reason || null })
      .then(function (data) {
        data.changes.forEach(function (change) {
          undoStack.push({ campaign: campaign, post_id: change.post_id });
          showState(card, change.to_state);
          showDecider(card);
        });
        showCounts(data.counts);
        say(texts.done || "");
        if (index === current) { select(current + 1); }
      })
      .catch(function (error) { say((texts.failed || "") + " " + error.message); });
  }

  function undo() {
    var last = undoStack.pop();
    if (!last && current >= 0) {
      last = { campaign: cards[current].getAttribute("data-campaign"), post_id: Number(cards[current].getAttribute("data-post-id")) };
    }
    if (!last || !canDecide) { return; }
    call("/api/queue/undo", last)
      .then(function (data) {
        var index = cardOf(last.post_id);
        if (index >= 0) { showState(cards[index], data.changes[0].to_state); showDecider(cards[index]); select(index); }
        showCounts(data.counts);
        say(texts.undone || "");
      })
      .catch(function (error) { say((texts.failed || "") + " " + error.message); });
  }

  function askReason(index) {
    var field = cards[index] && cards[index].querySelector('input[name="reason"]');
    if (field && field.value.trim()) { return field.value.trim(); }
    var answer = window.prompt(texts.reason || "Reason");
    return answer === null ? null : answer.trim();
  }

  function toggleHelp() {
    var help = document.getElementById("help");
    if (help) { help.hidden = !help.hidden; }
  }

  // Keys are shortcuts unless the user is typing (checkboxes and buttons do not count).
  function typesText(element) {
    var tag = (element.tagName || "").toLowerCase();
    if (tag === "textarea" || tag === "select" || element.isContentEditable) { return true; }
    return tag === "input" && ["checkbox", "radio", "button", "submit", "reset"].indexOf((element.type || "").toLowerCase()) < 0;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (typesText(event.target)) { return; }
    var key = event.key;
    if (key === "?") { toggleHelp(); event.preventDefault(); return; }
    if (key === "Escape") { var help = document.getElementById("help"); if (help) { help.hidden = true; } return; }
    if (key === "j") { select(current + 1); event.preventDefault(); return; }
    if (key === "k") { select(current - 1); event.preventDefault(); return; }
    if (key === "u") { undo(); event.preventDefault(); return; }
    if (current < 0) { return; }
    if (key === "a") { decide(current, "approve"); event.preventDefault(); }
    else if (key === "l") { decide(current, "later"); event.preventDefault(); }
    else if (key === "r") {
      event.preventDefault();
      var reason = askReason(current);
      if (reason !== null) { decide(current, "reject", reason); }
    } else if (key === "x") {
      var box = cards[current].querySelector('input[type="checkbox"]');
      if (box) { box.checked = !box.checked; }
      event.preventDefault();
    }
  });

  // The per-card buttons: act in place instead of reloading the page.
  cardsBox.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    if (!button) { return; }
    var card = button.closest(".card");
    var index = cards.indexOf(card);
    if (index < 0) { return; }
    event.preventDefault();
    var action = button.getAttribute("data-action");
    if (current !== index) { select(index); }
    if (action === "undo") {
      undoStack.push({ campaign: card.getAttribute("data-campaign"), post_id: Number(card.getAttribute("data-post-id")) });
      undo();
    } else if (action === "reject") {
      var reason = askReason(index);
      if (reason !== null) { decide(index, "reject", reason); }
    } else {
      decide(index, action);
    }
  });

  if (cards.length) { select(0); }
})();

// Draft page: a live count of graphemes (an emoji counts once, as the platforms count it).
(function () {
  const area = document.querySelector("textarea[data-limit]");
  const shown = document.querySelector("[data-count]");
  if (!area || !shown) return;
  const limit = Number(area.dataset.limit);
  const segmenter = window.Intl && Intl.Segmenter ? new Intl.Segmenter("de", { granularity: "grapheme" }) : null;
  const count = (text) => (segmenter ? Array.from(segmenter.segment(text)).length : Array.from(text).length);
  const update = () => {
    const n = count(area.value.replace(/\r\n/g, "\n").trim());
    shown.textContent = n.toLocaleString("de-DE");
    shown.parentElement.classList.toggle("over", n > limit);
  };
  area.addEventListener("input", update);
  update();
})();

// Draft page: a click on the focal-point picture sends its position within the picture as shown
// (the form also works without this script, for the picture's planned size).
(function () {
  const spot = document.querySelector(".focal-picker input[type=image]");
  if (!spot) return;
  spot.addEventListener("click", () => {
    const form = spot.form;
    form.elements.spot_w.value = String(spot.clientWidth || spot.width);
    form.elements.spot_h.value = String(spot.clientHeight || spot.height);
  });
})();
