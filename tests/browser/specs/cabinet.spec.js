// A sole proprietor becomes a partner in the cabinet, signing with the КЕП in the browser: the
// sign-in challenge with PEM files, the accession application with a PKCS#12 file.
const { test, expect } = require("@playwright/test");
const { fixtures, expectAccessible, screenshots, mailboxCode } = require("./helpers");

const kep = fixtures.kep;
const CERT = "Сертифікат (якщо його немає у файлі ключа)";

test("a sole proprietor signs in with a КЕП and becomes a partner", async ({ page }) => {
  await page.goto("/");
  await screenshots(page, "home");
  await page.getByRole("link", { name: "Увійти до кабінету з КЕП" }).click();
  await expect(page).toHaveURL(/\/cabinet\/sign-in(\?|$)/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Вхід до кабінету партнера");
  await screenshots(page, "cabinet-sign-in");

  // A key with another's certificate is refused in the browser, before anything is sent.
  await page.getByLabel("Файл ключа").setInputFiles(kep.key);
  await page.getByLabel(CERT).setInputFiles(kep.other_cert);
  await page.getByRole("button", { name: "Підписати й увійти" }).click();
  await expect(page.locator("#kep-status")).toHaveText(/Ключ не відповідає сертифікату/);
  await expect(page).toHaveURL(/\/cabinet\/sign-in(\?|$)/);

  await page.getByLabel(CERT).setInputFiles(kep.cert);
  await page.getByRole("button", { name: "Підписати й увійти" }).click();
  await expect(page).toHaveURL(/\/cabinet$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Як стати партнером");
  await expect(page.locator(".cabinet-bar")).toContainText(kep.surname);
  await screenshots(page, "cabinet-onboarding");

  await page.getByRole("button", { name: "Стати партнером" }).click();
  await page.getByLabel("Електронна пошта").fill("fop.oliinyk@example.com");
  await page.getByLabel("Телефон").fill("+380671234567");
  await page.getByLabel("Серія і номер паспорта керівника").fill("АБ123456");
  await page.getByRole("button", { name: "Зберегти" }).click();

  await expect(page.getByRole("heading", { name: "Публічна оферта" })).toBeVisible();
  await expectAccessible(page, "the offer");
  await page.getByLabel("Я прочитав(-ла) оферту і приймаю її умови").check();
  await page.getByRole("button", { name: "Прийняти оферту" }).click();

  // The application: a PKCS#12 file; a wrong password is said, the right one signs.
  await expect(page.getByRole("heading", { name: "Заява про приєднання" })).toBeVisible();
  await screenshots(page, "cabinet-application");
  await page.getByLabel("Файл ключа").setInputFiles(kep.p12);
  await page.getByLabel("Пароль ключа").fill("не той пароль");
  await page.getByRole("button", { name: "Підписати заяву" }).click();
  await expect(page.locator("#kep-status")).toHaveText(/неправильний пароль/);
  await page.getByLabel("Пароль ключа").fill(kep.p12_password);
  await page.getByRole("button", { name: "Підписати заяву" }).click();

  await expect(page.getByRole("heading", { level: 1 })).toContainText(kep.surname);
  await expect(page.locator("ol.progress")).toHaveCount(0);
  await screenshots(page, "cabinet-overview");

  // A branch: the name rules are said before the name is typed; a forbidden name is refused in
  // words with what was typed kept; then the mailbox is confirmed with the letter's code.
  await page.getByRole("link", { name: "Відділення" }).click();
  await expect(page.locator("#name-rules")).toContainText("Дія готель");
  await page.getByLabel("Назва відділення").fill("Дія готель");
  await page.getByLabel("Область").fill("Житомирська область");
  await page.getByLabel("Населений пункт").fill("м. Коростень");
  await page.getByLabel("Вулиця").fill("вул. Грушевського");
  await page.getByLabel("Будинок").fill("7");
  await page.getByLabel("Електронна пошта відділення").fill("kavyarnia@example.com");
  await page.getByRole("button", { name: "Створити відділення" }).click();
  await expect(page.getByRole("alert")).toContainText("не є назвою організації");
  await expect(page.getByLabel("Область")).toHaveValue("Житомирська область");
  const name = "Кав'ярня «Ґречка» ФОП Олійник-Д'Арко";
  await page.getByLabel("Назва відділення").fill(name);
  await page.getByRole("button", { name: "Створити відділення" }).click();
  const card = page.locator("li.card", { hasText: name });
  await expect(card).toContainText("очікує підтвердження");
  await card.getByLabel("Код підтвердження з листа").fill(await mailboxCode("kavyarnia@example.com"));
  await card.getByRole("button", { name: "Підтвердити пошту" }).click();
  await expect(page.locator("li.card", { hasText: name })).toContainText("підтверджено");
  await screenshots(page, "cabinet-branches");

  // A service: the all-or-nothing warning beside the documents, the legal basis acknowledged,
  // then its QR issued, previewed and its poster downloaded.
  await page.getByRole("link", { name: "Послуги" }).click();
  await expect(page.locator("#all-or-nothing")).toContainText("не буде надіслано жодного");
  await page.getByLabel("Назва послуги (мета обробки)").fill("для оформлення картки постійного гостя");
  await page.getByLabel("Паспорт громадянина України (ID-картка)", { exact: true }).check();
  await page.getByLabel(/Маю правові підстави/).check();
  await page.getByLabel("Правова підстава").fill("договір про програму лояльності");
  await page.getByRole("button", { name: "Створити послугу" }).click();
  const service = page.locator("li.card", { hasText: "для оформлення картки постійного гостя" });
  await service.getByRole("button", { name: "Видати QR-код" }).click();
  await expect(page.locator("img.qr-preview")).toBeVisible();
  // The preview loads from the cabinet's own address (the session's cookie), not just its tag.
  await expect.poll(() => page.locator("img.qr-preview").evaluate((img) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
  const [poster] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Плакат PDF" }).click()]);
  expect(require("fs").readFileSync(await poster.path()).subarray(0, 5).toString("latin1")).toBe("%PDF-");
  // The PNG is drawn in the browser from the SVG, at print resolution.
  const [png] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Плакат PNG" }).click()]);
  const pngBytes = require("fs").readFileSync(await png.path());
  expect(pngBytes.subarray(1, 4).toString("latin1")).toBe("PNG");
  expect(pngBytes.readUInt32BE(16)).toBe(2480);
  await screenshots(page, "cabinet-services");

  // Renamed, the service keeps its QR and waits for an operator's check of the new name.
  await service.getByText("Змінити або вимкнути").click();
  await service.getByLabel("Назва послуги (мета обробки)").fill("для оформлення картки гостя «Ґречки»");
  await service.getByRole("button", { name: "Перейменувати" }).click();
  const renamed = page.locator("li.card", { has: page.getByRole("heading", { name: "для оформлення картки гостя «Ґречки»" }) });
  await expect(renamed).toContainText("очікує перевірки");
  await expect(renamed.locator("img.qr-preview")).toBeVisible();

  await page.getByRole("button", { name: "Вийти" }).click();
  await expect(page).toHaveURL(/\/cabinet\/sign-in(\?|$)/);
  await page.goto("/cabinet");
  await expect(page).toHaveURL(/\/cabinet\/sign-in(\?|$)/);
});
