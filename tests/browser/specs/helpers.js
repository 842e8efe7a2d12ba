// What the specs share: the fixtures run.rs prepared, the axe-core check every page gets, and
// screenshots of a page in both languages and at phone width.
const fs = require("fs");
const path = require("path");
const { expect } = require("@playwright/test");
const AxeBuilder = require("@axe-core/playwright").default;

const fixtures = JSON.parse(fs.readFileSync(process.env.DIIA_QR_FIXTURES, "utf8"));
const shots = path.join(process.env.DIIA_QR_ARTIFACTS || "test-results", "screenshots");
fs.mkdirSync(shots, { recursive: true });

/** No serious or critical accessibility violation on the page as it is now. */
async function expectAccessible(page, what) {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const serious = results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  expect(serious, `axe on ${what}`).toEqual([]);
}

/**
 * Screenshots of the page as it is, as `name`: Ukrainian and English at desktop width, and
 * Ukrainian at phone width, where nothing may be wider than the screen. The page is left in
 * Ukrainian at desktop width.
 */
async function screenshots(page, name) {
  const desktop = page.viewportSize();
  const at = page.url();
  const withLang = (lang) => {
    const u = new URL(at);
    u.searchParams.set("lang", lang);
    return u.toString();
  };
  for (const lang of ["en", "uk"]) {
    await page.goto(withLang(lang));
    await expectAccessible(page, `${name} (${lang})`);
    await page.screenshot({ path: path.join(shots, `${name}.${lang}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 375, height: 740 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, `${name} fits a phone's width`).toBeLessThanOrEqual(0);
  await page.screenshot({ path: path.join(shots, `${name}.uk.phone.png`), fullPage: true });
  await page.setViewportSize(desktop);
}

/**
 * The confirmation code of the newest letter to `to` in the development mail folder, as the
 * mailbox's owner would read it (the engine writes one-part letters, base64 bodies).
 */
async function mailboxCode(to) {
  for (let attempt = 0; attempt < 100; attempt++) {
    const letters = fs.existsSync(fixtures.mail_dir) ? fs.readdirSync(fixtures.mail_dir) : [];
    for (const name of letters.filter((n) => n.startsWith("branch-"))) {
      const raw = fs.readFileSync(path.join(fixtures.mail_dir, name), "utf8");
      const split = raw.search(/\r?\n\r?\n/);
      if (!new RegExp(`^To: ${to}$`, "m").test(raw.slice(0, split))) continue;
      const text = Buffer.from(raw.slice(split).replace(/\s/g, ""), "base64").toString("utf8");
      const code = /Код підтвердження:\s*(\d+)/.exec(text);
      if (code) return code[1];
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no confirmation letter to ${to}`);
}

/** Signs in at `door` (`/cabinet/sign-in` or `/desk/sign-in`) with a PEM key and certificate, in the browser. */
async function signInWithKep(page, door, kep) {
  await page.goto(door);
  await page.getByLabel("Файл ключа").setInputFiles(kep.key);
  await page.getByLabel("Сертифікат (якщо його немає у файлі ключа)").setInputFiles(kep.cert);
  await page.getByRole("button", { name: "Підписати й увійти" }).click();
}

module.exports = { fixtures, expectAccessible, screenshots, mailboxCode, signInWithKep };
