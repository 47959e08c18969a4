// Reads the rendered geometry of every SVG on a report page and writes what is wrong into
// <pre id="probe"> as JSON, for tests/cli/test_page_geometry.py (via chromium --dump-dom).
// Three rules: an edge or link crosses no node box it does not join (nor leaves the picture); no label overlaps
// another label, a bar, a histogram's area or a line; no text leaves its picture (or its box).
(function () {
  const problems = [];
  const where = (svg) => svg.getAttribute("aria-label") || "svg";
  const inside = (b, x, y, pad) =>
    x > b.x + pad && x < b.x + b.width - pad && y > b.y + pad && y < b.y + b.height - pad;
  const overlap = (a, b, pad) =>
    a.x + pad < b.x + b.width && b.x + pad < a.x + a.width &&
    a.y + pad < b.y + b.height && b.y + pad < a.y + a.height;
  const rectOf = (r) => ({
    x: +r.getAttribute("x"), y: +r.getAttribute("y"),
    width: +r.getAttribute("width"), height: +r.getAttribute("height"),
  });
  const words = (t) => t.textContent.trim().slice(0, 40);

  for (const svg of document.querySelectorAll("svg")) {
    const view = svg.viewBox.baseVal;
    if (!view || !view.width) continue; // the legend's inline swatches
    const name = where(svg);
    const boxes = [...svg.querySelectorAll("g > rect")].map((r) => ({
      box: rectOf(r), label: words(r.parentNode.querySelector("text") || r),
    }));
    // 1. edges and links cross no box they do not join
    for (const path of svg.querySelectorAll("path[fill=none]")) {
      if (path.closest("marker")) continue;
      const length = path.getTotalLength();
      const a = path.getPointAtLength(0), z = path.getPointAtLength(length);
      const joined = boxes.filter(
        (b) => inside(b.box, a.x, a.y, -3) || inside(b.box, z.x, z.y, -3));
      for (let s = 0; s <= length; s += 4) {
        const p = path.getPointAtLength(s);
        if (p.x < view.x || p.y < view.y || p.x > view.x + view.width || p.y > view.y + view.height) {
          const tip = path.querySelector("title");
          problems.push(`${name}: the edge "${tip ? tip.textContent : "?"}" leaves the picture`);
          break;
        }
      }
      for (const b of boxes) {
        if (joined.includes(b)) continue;
        for (let s = 0; s <= length; s += 2) {
          const p = path.getPointAtLength(s);
          if (inside(b.box, p.x, p.y, 1)) {
            const tip = path.querySelector("title");
            problems.push(`${name}: the edge "${tip ? tip.textContent : "?"}" crosses the box ${b.label}`);
            break;
          }
        }
      }
    }
    // 2. labels overlap no label, no bar or area, no line
    const texts = [...svg.querySelectorAll("text")].map((t) => ({ t, box: t.getBBox() }));
    for (let i = 0; i < texts.length; i++) {
      for (let j = i + 1; j < texts.length; j++) {
        if (overlap(texts[i].box, texts[j].box, 0.5)) {
          problems.push(`${name}: "${words(texts[i].t)}" overlaps "${words(texts[j].t)}"`);
        }
      }
    }
    const solid = [...svg.querySelectorAll("rect, polygon")].filter((s) => {
      const opacity = +(s.getAttribute("fill-opacity") || 1);
      return opacity >= 0.2 || s.tagName === "polygon";
    });
    for (const { t, box } of texts) {
      const own = t.parentNode.tagName === "g" ? t.parentNode.querySelector("rect") : null;
      for (const s of solid) {
        if (s === own) continue;
        let hit = false;
        for (let x = box.x + 1; x < box.x + box.width - 1 && !hit; x += 2) {
          for (let y = box.y + 2; y < box.y + box.height - 2 && !hit; y += 2) {
            hit = s.isPointInFill(new DOMPoint(x, y));
          }
        }
        if (hit) problems.push(`${name}: "${words(t)}" lies on a ${s.tagName}`);
      }
      for (const line of svg.querySelectorAll("line")) {
        const b = line.getBBox();
        const thin = { x: b.x - 0.5, y: b.y, width: b.width + 1, height: b.height };
        if (overlap(thin, box, 1)) problems.push(`${name}: a line crosses "${words(t)}"`);
      }
      // 3. text stays in its picture, and in its box
      const frame = own ? rectOf(own) : { x: view.x, y: view.y, width: view.width, height: view.height };
      if (box.x < frame.x - 0.5 || box.y < frame.y - 0.5 ||
          box.x + box.width > frame.x + frame.width + 0.5 ||
          box.y + box.height > frame.y + frame.height + 0.5) {
        problems.push(`${name}: "${words(t)}" is clipped by its ${own ? "box" : "picture"}`);
      }
    }
  }
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({ svgs: document.querySelectorAll("svg").length, problems });
  document.body.appendChild(out);
})();
