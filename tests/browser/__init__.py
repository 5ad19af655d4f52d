"""Browser journeys: headless Chromium driven by Playwright, with axe on every page visited."""
