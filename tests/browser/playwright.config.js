// Playwright drives Debian's Chromium (/usr/bin/chromium), never a browser of its own download.
// run.rs starts the engine and writes the fixtures these specs read (DIIA_QR_FIXTURES).
const { defineConfig } = require("@playwright/test");

const artifacts = process.env.DIIA_QR_ARTIFACTS || "test-results";

module.exports = defineConfig({
  testDir: "specs",
  outputDir: `${artifacts}/playwright`,
  // One engine, one database: the specs share them, so they run one after another.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [["list"]],
  use: {
    baseURL: JSON.parse(require("fs").readFileSync(process.env.DIIA_QR_FIXTURES, "utf8")).base,
    locale: "uk-UA",
    acceptDownloads: true,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
      // This machine's network is closed: Chromium must not try to reach Google's services.
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
});
