/* Draws the case's process diagram with bpmn-js and marks the open tasks. The page works without it: the current
   steps are also listed as text under the diagram. */
(function () {
  "use strict";
  var box = document.getElementById("diagram");
  if (!box || typeof window.BpmnJS === "undefined" || !window.fetch) { return; }
  var highlight = [];
  try { highlight = JSON.parse(box.getAttribute("data-highlight") || "[]"); } catch (e) { highlight = []; }
  var viewer = new window.BpmnJS({ container: box });
  fetch(box.getAttribute("data-url"), { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.text();
    })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      canvas.zoom("fit-viewport");
      highlight.forEach(function (id) {
        if (registry.get(id)) { canvas.addMarker(id, "current-step"); }
      });
      box.setAttribute("data-rendered", "true");
    })
    .catch(function (err) {
      box.setAttribute("data-error", String(err));
    });
})();
