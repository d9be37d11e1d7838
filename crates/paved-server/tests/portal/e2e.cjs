// The portal end to end in a real headless Chromium (Debian's, driven by playwright-core):
// sign in; search the catalog and open an entity whose relation graph is drawn; create a
// service from web-service through the form, with a validation error shown by its field and
// then fixed; follow the job's live log to success. Saves a screenshot of every page at 1280
// and 390 pixels wide. Started by crates/paved-server/tests/it/portal_browser.rs, which gives:
//   PLAYWRIGHT_CORE  the playwright-core package directory
//   BASE_URL         the test server
//   TOKEN            the admin token
//   SCREENSHOTS      where to save screenshots
"use strict";
const path = require("path");
const fs = require("fs");
const { chromium } = require(process.env.PLAYWRIGHT_CORE);

const base = process.env.BASE_URL;
const shots = process.env.SCREENSHOTS;
const widths = [1280, 390];

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function main() {
  fs.mkdirSync(shots, { recursive: true });
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    const where = message.location();
    // The refused form answers 400, which the browser reports as a failed load.
    const refusedForm = message.text().includes("status of 400") && /\/create\//.test(where.url);
    if ((message.type() === "error" || message.type() === "warning") && !refusedForm) {
      problems.push(`console ${message.type()} at ${page.url()} (${where.url}:${where.lineNumber}): ${message.text()}`);
    }
  });
  const saved = [];
  async function screenshot(name) {
    for (const width of widths) {
      await page.setViewportSize({ width, height: 900 });
      const file = path.join(shots, `${name}-${width}.png`);
      await page.screenshot({ path: file, fullPage: true });
      saved.push(file);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  }

  // Anonymous: the sign-in page.
  await page.goto(`${base}/sign-in`);
  await screenshot("sign-in");
  await page.getByLabel("Token").fill(process.env.TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${base}/`);
  check(await page.getByText("Signed in as").isVisible(), "signed in");
  await screenshot("home");

  // The catalog: search, then open an entity with relations.
  await page.goto(`${base}/catalog`);
  await screenshot("catalog");
  await page.getByLabel("Search the catalog").fill("shop");
  await page.getByRole("button", { name: "Search" }).click();
  await page.waitForURL(/q=shop/);
  await page.locator("table.entities").getByRole("link", { name: "shop", exact: true }).click();
  await page.waitForURL(/\/catalog\/system\/default\/shop$/);
  const nodes = await page.locator("svg.graph a.node").count();
  check(nodes >= 1, `the relation graph draws the related entities (found ${nodes})`);
  check(await page.locator("svg.graph").isVisible(), "the graph is visible");
  await screenshot("entity");

  // Templates.
  await page.goto(`${base}/templates`);
  await screenshot("templates");
  await page.goto(`${base}/templates/web-service`);
  await screenshot("template");

  // Create from web-service: a value the schema refuses, shown by its field, then fixed.
  await page.goto(`${base}/create`);
  await screenshot("create-gallery");
  await page.getByRole("link", { name: "Web service" }).click();
  await page.waitForURL(/\/create\/web-service$/);
  await screenshot("create-form");
  await page.getByLabel("Name (required)").fill("storefront");
  await page.getByLabel("Owner group (required)").selectOption("team-a");
  await page.getByLabel("CPU units").selectOption("256");
  await page.getByLabel("Memory (MiB)").fill("3000");
  await page.getByRole("button", { name: "Create service" }).click();
  const memoryError = page.locator("#memory-error");
  await memoryError.waitFor();
  check((await memoryError.textContent()).length > 0, "the memory field's error says why");
  check(await page.getByLabel("Memory (MiB)").getAttribute("aria-invalid") === "true",
    "the memory field is marked invalid");
  await screenshot("create-error");
  // The preview (htmx swaps the form in place).
  await page.getByLabel("Memory (MiB)").fill("512");
  await page.getByRole("button", { name: "Preview files" }).click();
  await page.locator("#preview").waitFor();
  check(await page.locator("#preview summary", { hasText: "catalog-info.yaml" }).isVisible(),
    "the preview lists the repository's files");
  check(await page.locator("#memory-error").count() === 0, "the error is gone");
  await screenshot("create-preview");
  await page.getByRole("button", { name: "Create service" }).click();
  await page.waitForURL(/\/jobs\/[^/]+$/);
  // The live log (server-sent events) reaches the end of the job.
  await page.locator("#job-state .state-succeeded").waitFor({ timeout: 90000 });
  const log = await page.locator("#job-log").textContent();
  check(log.includes("record"), `the log shows the last step: ${log}`);
  check(await page.locator("#job-result a").textContent() === "storefront", "the job links the service");
  check(await page.locator("#job-cancel").count() === 0, "a finished job offers no cancel");
  await screenshot("job");
  await page.locator("#job-result a").click();
  await page.waitForURL(/\/catalog\/component\/default\/storefront$/);
  check(await page.getByText("git clone").isVisible(), "the service's page has its clone URL");
  await screenshot("service-entity");

  // The other pages.
  for (const [name, url] of [["jobs", "/jobs"], ["engine", "/engine"], ["audit", "/audit"]]) {
    await page.goto(`${base}${url}`);
    await screenshot(name);
  }
  // Keyboard: the first Tab reaches the skip link.
  await page.goto(`${base}/`);
  await page.keyboard.press("Tab");
  check(await page.evaluate(() => document.activeElement.className) === "skip", "skip link first");

  await browser.close();
  check(problems.length === 0, `the browser reported problems:\n${problems.join("\n")}`);
  console.log(JSON.stringify({ screenshots: saved.length, directory: shots }));
}

main().catch((error) => {
  console.error(error.stack || String(error));
  process.exit(1);
});
