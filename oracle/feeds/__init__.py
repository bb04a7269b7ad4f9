"""Feed definitions: the schema of ``feeds/<id>/feed.toml``, its loader, and checks of a feed against its model."""
