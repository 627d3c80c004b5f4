"""One module per ``radar`` command: each declares its name, help, arguments and ``run``."""

from radar.commands import (
    check,
    config,
    daily,
    demo,
    evaluate,
    import_log,
    monitor,
    outcomes,
    promote,
    score,
    search,
    serve,
    simulate,
    train,
    uplift,
)

COMMANDS = (
    simulate,
    check,
    import_log,
    train,
    search,
    evaluate,
    config,
    promote,
    score,
    outcomes,
    monitor,
    uplift,
    daily,
    serve,
    demo,
)
