"""Publishing on a studio's farm: a checked plan of what to render and publish
(`plan`), written as Thinkbox Deadline 10 jobs (`deadline`) or as an Open Job
Description template (`openjd`). Every farm task runs pm's hython batch, whose request
ids make a re-queued or retried task publish nothing twice (docs/farm.md)."""
