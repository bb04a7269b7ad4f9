"""Feed inputs: each source kind's settings (``[source]`` in feed.toml) and the code that fetches them."""
