/* global document, SVGSVGElement */
// Evaluated in the page by test/stats.test.ts (headless Chromium): what the browser rendered of
// each chart that follows an <h2>, measured from the layout, not from the HTML source.
(() => {
  const box = (el) => el.getBoundingClientRect();
  const titleOf = (el) => el.querySelector("title")?.textContent ?? "";
  const charts = {};
  for (const h of document.querySelectorAll("h2")) {
    const svg = h.nextElementSibling;
    if (!(svg instanceof SVGSVGElement)) continue;
    const b = box(svg);
    charts[h.textContent] = {
      width: b.width,
      height: b.height,
      bars: [...svg.querySelectorAll("rect")]
        .filter((r) => titleOf(r))
        .map((r) => ({ fill: r.getAttribute("fill"), title: titleOf(r), height: box(r).height })),
      points: [...svg.querySelectorAll("circle")].map((c) => ({
        fill: c.getAttribute("fill"),
        title: titleOf(c),
        y: box(c).top + box(c).height / 2,
      })),
      lines: [...svg.querySelectorAll("path")]
        .filter((p) => p.getAttribute("fill") === "none")
        .map((p) => ({ stroke: p.getAttribute("stroke"), length: p.getTotalLength(), width: box(p).width })),
    };
  }
  return charts;
})();
