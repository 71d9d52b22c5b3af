"""The model side of a friend-assisted task (a help task, a bargain): a member starts it and friends act
on it, each act a row pointing back at it. The mixin holds no field (each type keeps its own columns,
names and tables); it answers who is in the task and who may see it, the rules both types share."""

from django.db import models

__all__: list[str] = []


class FriendTask(models.Model):
    """Mixed into a type's task model. `acts_name` is the reverse relation of the friends' acts and
    `actor_name` the act's field naming the friend (its `<actor_name>_id` is read)."""

    acts_name = ""
    actor_name = ""

    class Meta:
        abstract = True

    def acted(self, user, acts=None) -> bool:
        """Has `user` acted on this task? `acts`: the task's acts when all are already loaded. Otherwise
        one indexed query (a task may have hundreds of acts: they are never loaded to answer this)."""
        if not user.is_authenticated:
            return False
        if acts is None and self.acts_name in getattr(self, "_prefetched_objects_cache", {}):
            acts = getattr(self, self.acts_name).all()
        if acts is None:
            return getattr(self, self.acts_name).filter(**{f"{self.actor_name}_id": user.pk}).exists()
        return any(getattr(act, f"{self.actor_name}_id") == user.pk for act in acts)

    def involves(self, user, acts=None) -> bool:
        """The starter, or a friend who acted on it: those shown the share link."""
        return (user.is_authenticated and user.pk == self.starter_id) or self.acted(user, acts)

    def visible_to(self, user, token_inviter) -> bool:
        """A task is visible to its starter and the friends who acted on it, and to whoever brings the
        starter's share token (`token_inviter`: the member the token names)."""
        if token_inviter is not None and token_inviter.pk == self.starter_id:
            return True
        return user is not None and self.involves(user)
