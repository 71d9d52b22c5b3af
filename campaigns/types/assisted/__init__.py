"""What the friend-assisted types (帮 助力, 砍 砍价: a member starts a task and friends act on it) share.
Not a type itself (it has no kind.py): the engine's discovery passes it by."""
