// An operator signs in to the desk with their КЕП in the browser and removes a branch's name
// with a reason; the name then stands among the removed, with that reason.
const { test, expect } = require("@playwright/test");
const { fixtures, expectAccessible, screenshots, signInWithKep } = require("./helpers");

test("an operator removes a branch's name with a reason", async ({ page }) => {
  // A partner's КЕП does not open the operators' door.
  await signInWithKep(page, "/desk/sign-in", fixtures.hotel_kep);
  await expect(page).toHaveURL(/\/desk\/sign-in(\?|$)/);
  await expect(page.locator(".problem")).toContainText("не є оператором");
  await expectAccessible(page, "the desk's sign-in");
  await screenshots(page, "desk-sign-in");

  await signInWithKep(page, "/desk/sign-in", fixtures.operator_kep);
  await expect(page).toHaveURL(/\/desk(\?|$)/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Модерація назв");
  const card = page.locator("li.card", { has: page.getByRole("heading", { name: fixtures.moderated_branch }) });
  await expect(card).toHaveCount(1);
  await expectAccessible(page, "the moderation queue");
  await screenshots(page, "desk-moderation");

  // No reason, no removal: the browser asks for one before anything is sent.
  await card.getByRole("button", { name: "Вилучити назву" }).click();
  await expect(page).toHaveURL(/\/desk(\?|$)/);
  const reason = "Назва відділення має містити повну назву організації, а «Ґірлянда» — торгова марка іншої особи.";
  await card.getByLabel("Причина вилучення").fill(reason);
  await card.getByRole("button", { name: "Вилучити назву" }).click();
  await expect(page).toHaveURL(/\/desk(\?|$)/);
  await expect(page.getByRole("heading", { name: fixtures.moderated_branch })).toHaveCount(0);

  await page.getByRole("link", { name: "Вилучені" }).click();
  const removed = page.locator("li.card", { has: page.getByRole("heading", { name: fixtures.moderated_branch }) });
  await expect(removed).toContainText(reason);

  await page.getByRole("link", { name: "Партнери" }).click();
  await expect(page.locator("main")).toContainText(fixtures.organisation_name);
  await expectAccessible(page, "the partners");
  await screenshots(page, "desk-partners");

  await page.getByRole("link", { name: "Стан системи" }).click();
  await expect(page.locator("table")).toContainText("cabinet_views");
  await expectAccessible(page, "the system status");
  await screenshots(page, "desk-status");
});
