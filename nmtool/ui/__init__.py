"""What the user sees: messages and JSON documents (output), tables,
the progress line and logging. Nothing here reaches a database engine."""
