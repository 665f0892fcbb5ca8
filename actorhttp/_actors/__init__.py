"""The application's own actors: declared on it, supervised while it is served, rooms, names.

``_declare``: ``app.add_actor``'s records and the group that runs them;
``_named``: actors with one incarnation in the cluster; ``_room``: a
topic's WebSocket members on one worker.
"""

from __future__ import annotations

from ._declare import ActorGroup, Declared, LocalActor
from ._named import NamedActor
from ._room import Room, open_room

__all__ = ["ActorGroup", "Declared", "LocalActor", "NamedActor", "Room", "open_room"]
