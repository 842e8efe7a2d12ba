// The poster as PNG, made in the browser: the poster's SVG (this origin's file) is drawn on a
// canvas at print resolution (A4 at 300 dpi across) and saved. The server renders the poster as
// SVG and PDF; a rasteriser in the binary would add a font and raster stack for a third copy of
// the same picture, and every browser already has one.
"use strict";

const PRINT_WIDTH_PX = 2480;

async function posterPng(link) {
  const svg = await (await fetch(link.dataset.posterPng, { credentials: "same-origin" })).text();
  const image = new Image();
  const loaded = new Promise((resolve, reject) => {
    image.onload = resolve;
    image.onerror = () => reject(new Error("the poster's SVG did not load"));
  });
  image.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svg);
  await loaded;
  const scale = PRINT_WIDTH_PX / (image.naturalWidth || PRINT_WIDTH_PX);
  const canvas = document.createElement("canvas");
  canvas.width = Math.round((image.naturalWidth || PRINT_WIDTH_PX) * scale);
  canvas.height = Math.round((image.naturalHeight || PRINT_WIDTH_PX * 1.414) * scale);
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.drawImage(image, 0, 0, canvas.width, canvas.height);
  const png = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  const save = document.createElement("a");
  save.href = URL.createObjectURL(png);
  save.download = link.getAttribute("download") || "poster.png";
  document.body.append(save);
  save.click();
  save.remove();
  setTimeout(() => URL.revokeObjectURL(save.href), 10_000);
}

for (const link of document.querySelectorAll("a[data-poster-png]")) {
  link.hidden = false;
  const separator = link.previousElementSibling;
  if (separator && separator.matches("[data-poster-png-separator]")) separator.hidden = false;
  link.addEventListener("click", (event) => {
    event.preventDefault();
    posterPng(link).catch((e) => {
      link.setAttribute("aria-invalid", "true");
      link.title = String(e.message || e);
    });
  });
}
