"""The stable USD layers of pm: a pure, atomic function of the database.

Downstream departments load the part layer (`.../PinchIn/particles01/particles01.usd`) and
the asset layer (`.../PinchIn/PinchIn.usd`), never a versioned data layer. pm writes them
from the database alone:

- `state`: what the layers of one asset should say, read in a few set-based queries;
- `compose`: the bytes of each layer (relative sublayer paths, provenance in
  `customLayerData`; the same database state always gives the same bytes);
- `files`: atomic replacement (write beside, then rename) and the read-only check;
- `layers`: the per-asset lock, sync, check and rebuild;
- `verify`: the checks a data layer passes before its publish may complete;
- `resolve`: an asset layer read back with `pxr.Usd.Stage`.

`pxr` (Houdini's own, or usd-core outside Houdini) is imported only where a layer is
written or read, so importing this package stays cheap.
"""


def work_on_calling_thread() -> None:
    """Let USD run its work on the calling thread only (`Work.SetConcurrencyLimit(1)`):
    for pm's own long-running services, never inside Houdini, whose USD this would limit.
    pm's layers are small text files, so USD's worker threads bring nothing, and after
    every call they spin (`sched_yield`) on the cores the service's requests need: 0.2 to
    0.4 ms of CPU per publish here."""
    from pxr import Work

    Work.SetConcurrencyLimit(1)
