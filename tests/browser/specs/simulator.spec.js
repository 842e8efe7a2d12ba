// A citizen shares documents from a photo of the poster, in the simulator: the QR is read in
// the browser, then every step is the one the Diia app would show, until the letter arrives.
const { test, expect } = require("@playwright/test");
const { fixtures, expectAccessible, screenshots, signInWithKep } = require("./helpers");

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

// The same share, on the partner's side: the hotel's head finds the certificate in the cabinet's
// search (the filters stay in the address), opens the request and downloads its copy.
test("the partner finds the shared certificate in search and downloads its copy", async ({ page }) => {
  await signInWithKep(page, "/cabinet/sign-in", fixtures.hotel_kep);
  await expect(page).toHaveURL(/\/cabinet$/);
  await expect(page.locator("svg[role=img]")).toHaveAttribute("aria-label", /усього 1/);
  await expectAccessible(page, "the overview");
  await screenshots(page, "cabinet-overview");

  await page.getByRole("link", { name: "Отримані документи" }).click();
  await page.getByLabel("Ім'я власника документа").fill("Ґонта");
  await page.getByLabel("Тип документа").selectOption("birth-certificate");
  await page.getByRole("button", { name: "Шукати" }).click();
  await expect(page).toHaveURL(/q=%D2%90%D0%BE%D0%BD%D1%82%D0%B0/);
  await expect(page).toHaveURL(/type=birth-certificate/);
  const rows = page.locator("table tbody tr");
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText("Ґонта");
  await expect(rows.first()).toContainText("доставлено");
  // The filters survive a reload: they are the address.
  await page.reload();
  await expect(page.getByLabel("Ім'я власника документа")).toHaveValue("Ґонта");
  await expectAccessible(page, "the search results");
  await screenshots(page, "cabinet-documents");

  // Nothing for another name; the message says so.
  await page.getByLabel("Ім'я власника документа").fill("Шевчук");
  await page.getByRole("button", { name: "Шукати" }).click();
  await expect(page.locator("main")).toContainText("Нічого не знайдено");
  await page.goBack();

  await rows.first().getByRole("link").click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Запит на документи");
  await expect(page.locator("ol.timeline")).toContainText("згоду підписано Дія.Підписом");
  await expect(page.locator("ol.timeline")).toContainText("лист прийнято поштовим сервером");
  await expectAccessible(page, "a received request");
  await screenshots(page, "cabinet-share");

  const [pdf] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: /Копія PDF/ }).click()]);
  expect(pdf.suggestedFilename()).toMatch(/^birth-certificate-[0-9a-f]{8}\.pdf$/);
  expect(require("fs").readFileSync(await pdf.path()).subarray(0, 5).toString("latin1")).toBe("%PDF-");
  const [p7s] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: /Підпис P7S/ }).click()]);
  expect(p7s.suggestedFilename()).toMatch(/\.p7s$/);
  // DER: a SEQUENCE.
  expect(require("fs").readFileSync(await p7s.path())[0]).toBe(0x30);

  // The audit export, as CSV: the search and the downloads just made are in it.
  await page.goto("/cabinet/documents");
  await page.getByLabel("Формат").selectOption("csv");
  const [csv] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Вивантажити" }).click()]);
  const text = require("fs").readFileSync(await csv.path(), "utf8");
  expect(text).toContain("access.search");
  expect(text).toContain("access.download");
});
