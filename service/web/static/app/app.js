// fieldlink pages: the little behaviour that plain HTML lacks. Loaded from the hub itself
// (the pages' policy allows no inline script).
//
// Polling: an element with data-poll="URL" is replaced every data-poll-every milliseconds
// (default 2000) with the fragment URL answers. A fragment holding [data-poll-done] stops
// the polling and reloads the page, which then shows the finished state in full. A
// fragment answered by a redirect (the session ended) reloads the page too, which then
// goes to the sign-in page.
"use strict";

function startPolling(element) {
  const url = element.getAttribute("data-poll");
  const every = parseInt(element.getAttribute("data-poll-every") || "2000", 10);
  let timer = null;
  async function poll() {
    try {
      const response = await fetch(url, { credentials: "same-origin", redirect: "follow" });
      if (response.redirected || !response.ok) {
        window.location.reload();
        return;
      }
      const holder = document.createElement("div");
      holder.innerHTML = await response.text();
      if (holder.querySelector("[data-poll-done]")) {
        window.location.reload();
        return;
      }
      const fresh = holder.querySelector("[data-poll-fragment]");
      if (fresh) {
        element.replaceChildren(...fresh.childNodes);  // moves them out of holder
      }
    } catch (error) {
      // The hub may be restarting: try again at the next tick.
    }
    timer = window.setTimeout(poll, every);
  }
  timer = window.setTimeout(poll, every);
  return () => window.clearTimeout(timer);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-poll]").forEach(startPolling);
});
