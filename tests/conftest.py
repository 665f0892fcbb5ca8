pytest_plugins = ["actorhttp.testing"]
