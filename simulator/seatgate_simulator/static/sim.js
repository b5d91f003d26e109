/* Page script of the Jira/Confluence simulator.
 *
 * It reproduces what an open tab of the real products does on its own: the background polls
 * (JSM queue, board etag poll, Quick Reload, Notifications & Tasks, analytics, editor
 * heartbeat), first at page load and then every data-poll-interval seconds, and the
 * analytics client's habit of marking every XHR/fetch of a hidden tab with
 * "x-atlassian-mau-ignore: true". Buttons do real actions (transition an issue).
 * window.seatgateSim exposes counters so that browser tests can see the polls happen.
 */
(function () {
  "use strict";
  var data = document.body.dataset;
  var sim = (window.seatgateSim = { polls: 0, lastStatus: {}, hiddenPolls: 0 });
  var nativeFetch = window.fetch.bind(window);

  window.fetch = function (url, options) {
    options = options || {};
    var headers = new Headers(options.headers || {});
    if (document.hidden) {
      headers.set("x-atlassian-mau-ignore", "true");
    }
    options.headers = headers;
    options.credentials = "same-origin";
    return nativeFetch(url, options);
  };

  function call(name, url, options) {
    sim.polls += 1;
    if (document.hidden) {
      sim.hiddenPolls += 1;
    }
    return fetch(url, options || { headers: { Accept: "application/json" } }).then(function (response) {
      sim.lastStatus[name] = response.status;
      return response.status === 200 ? response.json().catch(function () { return null; }) : null;
    }, function () {
      sim.lastStatus[name] = 0;
      return null;
    });
  }

  function postJson(name, url, body) {
    return call(name, url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
  }

  function postForm(name, url, fields) {
    return call(name, url, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: new URLSearchParams(fields).toString(),
    });
  }

  var events = [{ name: "pageview", page: data.page, time: Date.now() }];
  document.addEventListener("click", function (event) {
    var target = event.target;
    events.push({ name: "click", id: target && target.id ? target.id : "", time: Date.now() });
  });

  var polls = [];
  var queueHash = "undefined";
  var issueHash = "";
  var boardEtag = null;
  var reloadSince = Date.now();
  var myworkFirst = true;

  if (data.page === "queue") {
    polls.push(function () {
      var base = "/rest/servicedesk/1/servicedesk/" + encodeURIComponent(data.project);
      call("queues-poll", base + "/queues/poll?projectStateHash=" + queueHash + "&_=" + Date.now())
        .then(function (body) {
          if (body) { queueHash = body.projectStateHash; }
          return call("issuelist-updated", base + "/issuelist/updated?asc=false&currentIssueHash=" +
            issueHash + "&jql=" + encodeURIComponent("project = " + data.project) + "&_=" + Date.now());
        })
        .then(function (body) { if (body) { issueHash = body.currentIssueHash; } });
    });
  }
  if (data.page === "board") {
    polls.push(function () {
      // The first load carries no etag; timer polls do, and get a small answer when unchanged.
      var url = "/rest/greenhopper/1.0/xboard/work/allData.json?rapidViewId=" + encodeURIComponent(data.board) +
        (boardEtag ? "&etag=" + encodeURIComponent(boardEtag) : "") + "&_=" + Date.now();
      call("board", url).then(function (body) { if (body && body.etagData) { boardEtag = body.etagData.etag; } });
    });
  }
  if (data.product === "confluence" && data.page !== "login") {
    polls.push(function () {
      // The page-load call carries ?pageid=; the timer calls do not.
      var url = "/rest/mywork/latest/status/notification/count" +
        (myworkFirst && data.pageId ? "?pageid=" + data.pageId : "");
      myworkFirst = false;
      call("mywork", url);
    });
  }
  if (data.pageId) {
    polls.push(function () {
      var url = "/rest/quickreload/latest/" + data.pageId + "?since=" + reloadSince + "&_=" + Date.now();
      call("quickreload", url).then(function (body) { if (body) { reloadSince = Date.now(); } });
    });
  }
  if (data.page === "edit") {
    polls.push(function () {
      postForm("heartbeat", "/json/startheartbeatactivity.action",
        { contentId: data.pageId, draftType: "page", spaceKey: "SIM", atl_token: "simulated" });
    });
  }
  if (data.page && data.page !== "login" && data.page !== "error") {
    polls.push(function () {
      var batch = events;
      events = [];
      postJson("analytics", "/rest/analytics/1.0/publish/bulk", batch);
    });
  }

  function runPolls() {
    polls.forEach(function (poll) { poll(); });
  }
  if (polls.length) {
    runPolls();
    var seconds = parseFloat(data.pollInterval || "30");
    window.setInterval(runPolls, Math.max(seconds, 0.05) * 1000);
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-transition]"), function (button) {
    button.addEventListener("click", function () {
      button.disabled = true;
      postJson("transition", "/rest/api/2/issue/" + encodeURIComponent(data.key) + "/transitions",
        { transition: { id: button.getAttribute("data-transition") } })
        .then(function () { window.location.reload(); });
    });
  });
})();
