// A citizen shares documents from a photo of the poster, in the simulator: the QR is read in
// the browser, then every step is the one the Diia app would show, until the letter arrives.
const { test, expect } = require("@playwright/test");
const { fixtures, expectAccessible, screenshots } = require("./helpers");

test("a citizen shares a birth certificate from an uploaded photo of the poster", async ({ page }) => {
  await page.goto("/simulator");
  await expectAccessible(page, "the simulator's start");
  await screenshots(page, "simulator-start");

  await page.getByLabel("Громадянин").selectOption(fixtures.citizen.rnokpp);
  await page.locator("#poster").setInputFiles(fixtures.poster_png);
  await expect(page.locator("#poster-status")).toHaveText(/розпізнано/i);
  await expect(page.locator("#link")).toHaveValue(fixtures.qr_link);
  await page.getByRole("button", { name: "Сканувати" }).click();

  // Who asks, for what and why, with the code printed on the poster.
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Запит на передачу документів");
  await expect(page.locator("main")).toContainText(fixtures.organisation_name);
  await expect(page.locator("main")).toContainText(fixtures.purpose);
  await expect(page.locator("strong.code")).toHaveText(fixtures.qr_short_code);
  await screenshots(page, "simulator-request");

  // Two children: the second certificate.
  await page.getByLabel(fixtures.citizen.second_certificate).check();
  await page.getByRole("button", { name: "Обрати" }).click();
  await page.getByRole("button", { name: "Пройти перевірку" }).click();

  // Diia.Signature, by keyboard: the code field is focused and typed into, Enter submits.
  const code = page.getByLabel("Код Дія.Підпису");
  await code.focus();
  await page.keyboard.type(fixtures.citizen.signature_code);
  await page.keyboard.press("Enter");

  await expect(page.locator("#draft-to")).toHaveText(fixtures.mailbox);
  await expectAccessible(page, "the draft letter");
  await page.getByRole("button", { name: "Надіслати" }).click();

  // The page reloads itself until the letter is delivered.
  await expect(page.getByRole("heading", { name: "Лист доставлено" })).toBeVisible({ timeout: 30_000 });
  await expect(page.locator("#letter-subject")).toContainText(fixtures.purpose);
  await expect(page.locator("ol.progress li.done")).toHaveCount(5);
  await expectAccessible(page, "the delivered letter");
  await screenshots(page, "simulator-delivered");

  const attachments = page.locator("#letter-attachments a");
  await expect(attachments).toHaveCount(2);
  const [download] = await Promise.all([page.waitForEvent("download"), attachments.first().click()]);
  const saved = await download.path();
  const head = require("fs").readFileSync(saved).subarray(0, 5).toString("latin1");
  expect(head).toBe("%PDF-");
});
