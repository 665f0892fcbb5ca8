"""actorhttp."""
