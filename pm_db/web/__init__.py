"""The web view `pm serve` shows at `/`: the show tree, search, activity, artists and
tasks, read-only, for supervisors and production without Houdini (pm_db.web.pages), and
the API docs page. Every file a page loads is served by pm itself (pm_db/web/static):
nothing is fetched from outside the studio network."""
