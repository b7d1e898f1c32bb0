/**
 * Headless Chromium or Chrome through playwright-core (npm cannot download a browser here).
 * Found at CHROMIUM_PATH, else Debian/Ubuntu's chromium, else Chrome or Chromium in their usual
 * places on Linux and macOS; without one, a one-line failure says what to install.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/snap/bin/chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
];

export function findBrowser(): string {
  const found = process.env.CHROMIUM_PATH ? [process.env.CHROMIUM_PATH] : CANDIDATES.filter((p) => existsSync(p));
  if (found.length === 0 || !existsSync(found[0])) {
    throw new Error('No Chromium or Chrome found: install Debian\'s "chromium" (apt-get install chromium) or Google Chrome, or set CHROMIUM_PATH.');
  }
  return found[0];
}

/** Each launch has a fresh temporary profile (its own --user-data-dir), with no network of its own. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: findBrowser(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-first-run', '--disable-quic'],
  });
}
