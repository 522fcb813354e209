"""One-off maintenance of the cell databases: online data migrations, the
null instance uuid scan, ironic moves, machine types, image properties."""
