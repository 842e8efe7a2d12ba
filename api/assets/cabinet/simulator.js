// The citizen app simulator's progressive enhancement (the pages work without it):
// - on the start page, a picked photo of a poster is read in the browser (zxing-wasm) and the
//   QR's link is put into the link field;
// - on a request that is being sent, the page is reloaded until the status changes.
"use strict";

(function () {
  const poster = document.getElementById("poster");
  if (poster && window.ZXingWASM) {
    // The decoder's WebAssembly file is served by the engine, never a CDN.
    window.ZXingWASM.setZXingModuleOverrides({
      locateFile: (path) => "/assets/" + path,
    });
    const status = document.getElementById("poster-status");
    const link = document.getElementById("link");
    poster.addEventListener("change", async () => {
      const file = poster.files && poster.files[0];
      if (!file) return;
      status.textContent = "…";
      try {
        const found = await window.ZXingWASM.readBarcodes(file, {
          formats: ["QRCode"],
          tryHarder: true,
          maxNumberOfSymbols: 1,
        });
        const code = found.find((b) => b.isValid && b.text);
        if (code) {
          link.value = code.text;
          status.textContent = poster.dataset.read;
          link.focus();
        } else {
          status.textContent = poster.dataset.unreadable;
        }
      } catch (e) {
        status.textContent = poster.dataset.unreadable;
      }
    });
  }

  const waiting = document.querySelector("[data-refresh]");
  if (waiting) {
    const every = Number(waiting.dataset.refresh) || 2000;
    setTimeout(() => window.location.reload(), every);
  }
})();
