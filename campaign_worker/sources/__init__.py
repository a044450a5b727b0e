"""Sources: everything that turns posts somewhere else into `ParsedPost`s."""
